#pragma once
// Appends RFC 6902 operations to the engine's patch buffer. The writer owns the
// array's punctuation (the '[', the commas between operations, the ']') and the
// opening of each operation, so the steps that build a patch write only paths and
// values and cannot get the separators wrong.
//
//   json_patch_writer w(buffer);
//   w.begin(patch_op::add, "/spec/volumes") += "/-";
//   write_value(w.value());
//   w.end_value();
//   std::string_view patch = w.finish();
//
// Nothing here allocates beyond the growth of the caller's buffer, which keeps
// its capacity across requests.

#include <cstdint>
#include <string>
#include <string_view>

namespace meshinject::patch {

enum class patch_op : std::uint8_t { add, remove, replace };

class json_patch_writer {
 public:
  // Clears `out` and opens the array.
  explicit json_patch_writer(std::string& out) : out_(out) {
    out_.clear();
    out_ += '[';
  }

  // Opens an operation and writes `path`; the caller may append more of the
  // path (escaped tokens, indices) to the returned buffer.
  std::string& begin(patch_op op, std::string_view path) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += "{\"op\":\"";
    out_ += op_name(op);
    out_ += "\",\"path\":\"";
    out_ += path;
    return out_;
  }
  // Ends the path and opens the value, which the caller writes.
  std::string& value() {
    out_ += "\",\"value\":";
    return out_;
  }
  // Ends an operation that has a value.
  void end_value() { out_ += '}'; }
  // Ends an operation without a value (`remove`).
  void end_path() { out_ += "\"}"; }
  // Closes the array; the view is the whole patch.
  std::string_view finish() {
    out_ += ']';
    return out_;
  }

 private:
  static std::string_view op_name(patch_op op) noexcept {
    switch (op) {
      case patch_op::add: return "add";
      case patch_op::remove: return "remove";
      case patch_op::replace: return "replace";
    }
    return "add";
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace meshinject::patch
