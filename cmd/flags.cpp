#include "cmd/flags.hpp"

#include <algorithm>
#include <iomanip>

namespace meshinject::cmd {

flag_set& flag_set::value(std::vector<std::string> names, std::string* target, std::string help,
                          std::string metavar) {
  flags_.push_back(flag{std::move(names), target, nullptr, std::move(help), std::move(metavar)});
  return *this;
}

flag_set& flag_set::boolean(std::vector<std::string> names, bool* target, std::string help) {
  flags_.push_back(flag{std::move(names), nullptr, target, std::move(help), ""});
  return *this;
}

flag_set::flag* flag_set::find(std::string_view name) {
  for (auto& f : flags_)
    for (const auto& n : f.names)
      if (n == name) return &f;
  return nullptr;
}

bool flag_set::given(std::string_view name) const {
  for (const auto& f : flags_)
    for (const auto& n : f.names)
      if (n == name) return f.seen;
  return false;
}

bool flag_set::parse(args a, io streams, int& exit_code) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string_view arg = a[i];
    if (arg == "--help" || arg == "-h") {
      print_help(streams.out);
      exit_code = 0;
      return false;
    }
    if (arg == "--") {
      for (++i; i < a.size(); ++i) positional_.emplace_back(a[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positional_.emplace_back(arg);
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    flag* f = find(name);
    if (!f) {
      streams.err << "unknown flag " << name << "\n\n";
      print_help(streams.err);
      exit_code = 2;
      return false;
    }
    f->seen = true;
    if (f->switch_) {
      if (!inline_value || *inline_value == "true" || *inline_value == "1") {
        *f->switch_ = true;
      } else if (*inline_value == "false" || *inline_value == "0") {
        *f->switch_ = false;
      } else {
        streams.err << "flag " << name << " takes true or false, not '" << *inline_value << "'\n";
        exit_code = 2;
        return false;
      }
      continue;
    }
    if (inline_value) {
      *f->text = std::string(*inline_value);
    } else if (i + 1 < a.size()) {
      *f->text = std::string(a[++i]);
    } else {
      streams.err << "flag " << name << " needs a value\n";
      exit_code = 2;
      return false;
    }
  }
  return true;
}

void flag_set::print_help(std::ostream& out) const {
  // The help column starts after the longest name list, so that istioctl's long
  // aliases (--injectConfigFile) do not push their line out of it.
  std::vector<std::string> names(flags_.size());
  std::size_t width = 0;
  for (std::size_t i = 0; i < flags_.size(); ++i) {
    const flag& f = flags_[i];
    for (const auto& n : f.names) names[i] += (names[i].empty() ? "" : ", ") + n;
    if (f.text) names[i] += " " + f.metavar;
    width = std::max(width, names[i].size());
  }
  out << usage_ << "\n\nflags:\n";
  for (std::size_t i = 0; i < flags_.size(); ++i) {
    const flag& f = flags_[i];
    out << "  " << std::left << std::setw(static_cast<int>(width)) << names[i] << "  " << f.help;
    if (f.text && !f.text->empty()) out << " (default " << *f.text << ")";
    out << '\n';
  }
}

}  // namespace meshinject::cmd
