#pragma once
// Errors of the cold path (config load, CLI). They carry a source position so a
// user can jump to the offending line: "file:line:column: message".

#include <stdexcept>
#include <string>

namespace meshinject::core {

struct source_position {
  std::string file;  // empty when the text did not come from a file
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

class config_error : public std::runtime_error {
 public:
  config_error(source_position where, const std::string& message)
      : std::runtime_error(format(where, message)), where_(std::move(where)), message_(message) {}

  const source_position& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }

  static std::string format(const source_position& where, const std::string& message) {
    std::string out;
    if (!where.file.empty()) out += where.file;
    if (where.line > 0) {
      if (!out.empty()) out += ':';
      out += std::to_string(where.line);
      if (where.column > 0) out += ':' + std::to_string(where.column);
    }
    if (!out.empty()) out += ": ";
    return out + message;
  }

 private:
  source_position where_;
  std::string message_;
};

}  // namespace meshinject::core
