#include "patch/json_tree_writer.hpp"

#include <charconv>

#include "patch/json_text.hpp"

namespace meshinject::patch {

namespace json = core::json;

namespace {

// The subtree's text written once, while the subtree is still what it was
// written from (a check of handles, far cheaper than escaping its strings).
bool append_prepared(std::string& out, const json::value& v) {
  const json::prepared_text* p = v.prepared();
  if (p == nullptr || !json::identical(v, *p->source)) return false;
  out += p->text;
  return true;
}

}  // namespace

void append_json(std::string& out, const json::value& v) {
  switch (v.type()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::boolean:
      out += v.as_bool() ? "true" : "false";
      return;
    case json::kind::number:
      if (!v.number_text().empty()) {
        out += v.number_text();
      } else {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v.as_integer());
        out.append(buf, static_cast<std::size_t>(r.ptr - buf));
      }
      return;
    case json::kind::string:
      append_json_string(out, v.as_string());
      return;
    case json::kind::array: {
      if (append_prepared(out, v)) return;
      out += '[';
      bool first = true;
      for (const json::value& item : v.items()) {
        if (!first) out += ',';
        first = false;
        append_json(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      if (append_prepared(out, v)) return;
      out += '{';
      bool first = true;
      for (const json::member& m : v.members()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, m.key);
        out += ':';
        append_json(out, m.v);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace meshinject::patch
