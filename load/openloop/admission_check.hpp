#pragma once
// --check-admission: whether an answer is the AdmissionReview the sent review asked for.
// A 200 alone does not prove a webhook worked: an answer for another request (wrong uid)
// or one that forgot the sidecar (no patch) would be counted as success. The soak sends
// only pods that the config injects, so every good answer must carry both.

#include <optional>
#include <string>
#include <string_view>

namespace meshinject::load {

/// request.uid of an AdmissionReview body; nullopt when the body is not one.
std::optional<std::string> admission_request_uid(std::string_view review);

/// Empty when `answer` is an AdmissionReview whose response has uid `uid`, allowed true
/// and a non-empty patch; otherwise what is wrong, for the first-failure line.
std::string admission_answer_problem(std::string_view answer, std::string_view uid);

}  // namespace meshinject::load
