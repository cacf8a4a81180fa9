#pragma once
// --check-admission: whether an answer is the AdmissionReview the sent review asked for.
// A 200 alone does not prove a webhook worked: an answer for another request (wrong uid)
// or one that forgot the sidecar (no patch) would be counted as success. The soak sends
// only pods that the config injects, so every good answer must carry both.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshinject::load {

/// request.uid of an AdmissionReview body; nullopt when the body is not one.
std::optional<std::string> admission_request_uid(std::string_view review);

/// Empty when `answer` is an AdmissionReview whose response has uid `uid`, allowed true
/// and a non-empty patch; otherwise what is wrong, for the first-failure line.
std::string admission_answer_problem(std::string_view answer, std::string_view uid);

/// The `copy`th of --vary's copies of an AdmissionReview: request.uid, and the pod's name
/// where the review names one (request.name, request.object.metadata.name), made unique
/// per copy as the apiserver makes them per request, so that nothing downstream can
/// answer a repeat from a cache of request bytes. The uid's last 12 characters (all of
/// a shorter one) become the copy's number in hex, so a UUID stays one; a name gets "-<copy in hex>".
/// Written compact, so the body's layout may differ from the file's. nullopt when the
/// body is not an AdmissionReview with a string request.uid.
std::optional<std::string> vary_admission_review(std::string_view review, std::uint64_t copy);

}  // namespace meshinject::load
