#include "admission_check.hpp"

// Boost.JSON's sources, compiled into this one file (header-only mode, no library to link).
#include <boost/json/src.hpp>

#include <algorithm>

namespace meshinject::load {

namespace json = boost::json;

std::optional<std::string> admission_request_uid(std::string_view review) {
  boost::system::error_code ec;
  const json::value doc = json::parse(review, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto* request = doc.as_object().if_contains("request");
  if (!request || !request->is_object()) return std::nullopt;
  const auto* uid = request->as_object().if_contains("uid");
  if (!uid || !uid->is_string()) return std::nullopt;
  return std::string(uid->as_string());
}

std::string admission_answer_problem(std::string_view answer, std::string_view uid) {
  boost::system::error_code ec;
  const json::value doc = json::parse(answer, ec);
  if (ec || !doc.is_object()) return "answer is not JSON";
  const auto* response = doc.as_object().if_contains("response");
  if (!response || !response->is_object()) return "answer has no response object";
  const auto& r = response->as_object();
  const auto* got_uid = r.if_contains("uid");
  if (!got_uid || !got_uid->is_string()) return "response has no uid";
  if (got_uid->as_string() != uid) {
    return "response.uid " + std::string(got_uid->as_string()) + " is not the uid sent, " + std::string(uid);
  }
  const auto* allowed = r.if_contains("allowed");
  if (!allowed || !allowed->is_bool() || !allowed->as_bool()) return "response.allowed is not true";
  const auto* patch = r.if_contains("patch");
  if (!patch || !patch->is_string() || patch->as_string().empty()) return "response has no patch";
  return {};
}

namespace {

std::string hex(std::uint64_t n, std::size_t width) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(width, '0');
  for (std::size_t i = width; i-- > 0 && n != 0; n >>= 4) out[i] = digits[n & 0xf];
  return out;
}

void rename(json::object& o, std::string_view key, std::uint64_t copy) {
  auto* name = o.if_contains(key);
  if (!name || !name->is_string() || name->as_string().empty()) return;
  auto& text = name->as_string();
  text.push_back('-');
  text.append(hex(copy, 6));
}

}  // namespace

std::optional<std::string> vary_admission_review(std::string_view review, std::uint64_t copy) {
  boost::system::error_code ec;
  json::value doc = json::parse(review, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  auto* request = doc.as_object().if_contains("request");
  if (!request || !request->is_object()) return std::nullopt;
  auto& r = request->as_object();
  auto* uid = r.if_contains("uid");
  if (!uid || !uid->is_string()) return std::nullopt;
  std::string u(uid->as_string());
  const std::size_t tail = std::min<std::size_t>(u.size(), 12);
  u.replace(u.size() - tail, tail, hex(copy, 12));
  *uid = u;
  rename(r, "name", copy);
  if (auto* object = r.if_contains("object"); object && object->is_object()) {
    if (auto* meta = object->as_object().if_contains("metadata"); meta && meta->is_object()) {
      rename(meta->as_object(), "name", copy);
    }
  }
  return json::serialize(doc);
}

}  // namespace meshinject::load
