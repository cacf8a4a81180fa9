// sprig's string functions (strings.go), regex excluded: trim trimAll trimPrefix
// trimSuffix upper lower title untitle replace contains hasPrefix hasSuffix split
// splitList splitn join quote squote cat indent nindent trunc repeat substr.
// Case mapping and trimming know ASCII only (see README, "Differences").

#include <algorithm>

#include "template/binding.hpp"
#include "template/funcs_support.hpp"

namespace meshinject::tmpl {
namespace {

using sprig::want_int;
using sprig::want_string;

constexpr std::string_view go_space = " \t\n\v\f\r";

// A substring keeps pointing into its source and keeps its origin.
value slice_of(const value& source, std::string_view part) { return value::string(part, source.origin); }

value fn_trim(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!want_string(cx, a[0], s)) return {};
  const std::size_t b = s.find_first_not_of(go_space);
  if (b == std::string_view::npos) return value::string("");
  return slice_of(a[0], s.substr(b, s.find_last_not_of(go_space) - b + 1));
}

value fn_trim_all(call_context& cx, std::span<value> a) {
  std::string_view cutset, s;
  if (!want_string(cx, a[0], cutset) || !want_string(cx, a[1], s)) return {};
  const std::size_t b = s.find_first_not_of(cutset);
  if (b == std::string_view::npos) return value::string("");
  return slice_of(a[1], s.substr(b, s.find_last_not_of(cutset) - b + 1));
}

value fn_trim_prefix(call_context& cx, std::span<value> a) {
  std::string_view prefix, s;
  if (!want_string(cx, a[0], prefix) || !want_string(cx, a[1], s)) return {};
  return slice_of(a[1], s.substr(0, prefix.size()) == prefix ? s.substr(prefix.size()) : s);
}

value fn_trim_suffix(call_context& cx, std::span<value> a) {
  std::string_view suffix, s;
  if (!want_string(cx, a[0], suffix) || !want_string(cx, a[1], s)) return {};
  const bool has = s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
  return slice_of(a[1], has ? s.substr(0, s.size() - suffix.size()) : s);
}

value map_case(call_context& cx, const value& v, bool to_upper) {
  std::string_view s;
  if (!want_string(cx, v, s)) return {};
  std::string& out = cx.scratch();
  out.assign(s);
  for (char& c : out) {
    if (to_upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!to_upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return cx.text(out, v.origin);
}

value fn_upper(call_context& cx, std::span<value> a) { return map_case(cx, a[0], true); }
value fn_lower(call_context& cx, std::span<value> a) { return map_case(cx, a[0], false); }

bool is_word_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}

// strings.Title: the first letter of every word upper-cased.
value fn_title(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!want_string(cx, a[0], s)) return {};
  std::string& out = cx.scratch();
  out.assign(s);
  bool previous_word = false;
  for (char& c : out) {
    if (!previous_word && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    previous_word = is_word_char(c);
  }
  return cx.text(out, a[0].origin);
}

// sprig's untitle: the first letter of every space-separated word lower-cased.
value fn_untitle(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!want_string(cx, a[0], s)) return {};
  std::string& out = cx.scratch();
  out.assign(s);
  bool previous_space = true;
  for (char& c : out) {
    if (previous_space && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    previous_space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  return cx.text(out, a[0].origin);
}

// The length of the UTF-8 sequence starting at s[k] (1 for a stray byte).
std::size_t rune_length(std::string_view s, std::size_t k) noexcept {
  const auto c = static_cast<unsigned char>(s[k]);
  const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  return k + n <= s.size() ? n : 1;
}

// strings.Replace(s, old, new, -1); an empty `old` matches before every rune and at the end.
value fn_replace(call_context& cx, std::span<value> a) {
  std::string_view from, to, s;
  if (!want_string(cx, a[0], from) || !want_string(cx, a[1], to) || !want_string(cx, a[2], s)) return {};
  std::string& out = cx.scratch();
  out.clear();
  if (from.empty()) {
    for (std::size_t k = 0; k < s.size();) {
      out.append(to);
      const std::size_t n = rune_length(s, k);
      out.append(s.substr(k, n));
      k += n;
    }
    out.append(to);
    return cx.text(out);
  }
  std::size_t start = 0;
  for (std::size_t at = s.find(from); at != std::string_view::npos; at = s.find(from, start)) {
    out.append(s.substr(start, at - start));
    out.append(to);
    start = at + from.size();
  }
  out.append(s.substr(start));
  return cx.text(out, a[2].origin);
}

value fn_contains(call_context& cx, std::span<value> a) {
  std::string_view needle, haystack;
  if (!want_string(cx, a[0], needle) || !want_string(cx, a[1], haystack)) return {};
  return value::boolean(haystack.find(needle) != std::string_view::npos);
}

value fn_has_prefix(call_context& cx, std::span<value> a) {
  std::string_view prefix, s;
  if (!want_string(cx, a[0], prefix) || !want_string(cx, a[1], s)) return {};
  return value::boolean(s.substr(0, prefix.size()) == prefix);
}

value fn_has_suffix(call_context& cx, std::span<value> a) {
  std::string_view suffix, s;
  if (!want_string(cx, a[0], suffix) || !want_string(cx, a[1], s)) return {};
  return value::boolean(s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix);
}

// strings.SplitN(s, sep, n) into the arena; n < 0: all. Go's rules: an empty
// sep splits into runes; n == 0 gives no parts.
std::span<const value> split_parts(call_context& cx, const value& source, std::string_view s, std::string_view sep,
                                   std::int64_t n) {
  if (n == 0) return {};
  std::size_t count = 1;
  if (sep.empty()) {
    count = 0;
    for (std::size_t k = 0; k < s.size(); k += rune_length(s, k)) ++count;
  } else {
    for (std::size_t at = s.find(sep); at != std::string_view::npos; at = s.find(sep, at + sep.size())) ++count;
  }
  if (n > 0 && count > static_cast<std::size_t>(n)) count = static_cast<std::size_t>(n);
  value* parts = sprig::new_values(cx, count);
  std::size_t made = 0, start = 0;
  while (made + 1 < count) {
    std::size_t end = 0, next = 0;
    if (sep.empty()) {
      end = start + rune_length(s, start);
      next = end;
    } else {
      end = s.find(sep, start);
      next = end + sep.size();
    }
    parts[made++] = slice_of(source, s.substr(start, end - start));
    start = next;
  }
  if (count > 0) parts[made++] = slice_of(source, s.substr(start));
  return {parts, made};
}

value fn_split_list(call_context& cx, std::span<value> a) {
  std::string_view sep, s;
  if (!want_string(cx, a[0], sep) || !want_string(cx, a[1], s)) return {};
  return make_list(cx.strings(), split_parts(cx, a[1], s, sep, -1));
}

// split and splitn give a map with keys _0, _1, ...
value parts_as_map(call_context& cx, std::span<const value> parts) {
  map_entry* entries = sprig::new_entries(cx, parts.size());
  std::string& key = cx.scratch(0);
  for (std::size_t k = 0; k < parts.size(); ++k) {
    key = "_";
    append_int(key, static_cast<std::int64_t>(k));
    entries[k] = map_entry{cx.strings().copy(key), parts[k]};
  }
  return make_map(cx.strings(), {entries, parts.size()});
}

value fn_split(call_context& cx, std::span<value> a) {
  std::string_view sep, s;
  if (!want_string(cx, a[0], sep) || !want_string(cx, a[1], s)) return {};
  return parts_as_map(cx, split_parts(cx, a[1], s, sep, -1));
}

value fn_splitn(call_context& cx, std::span<value> a) {
  std::string_view sep, s;
  std::int64_t n = 0;
  if (!want_string(cx, a[0], sep) || !want_int(cx, a[1], n) || !want_string(cx, a[2], s)) return {};
  return parts_as_map(cx, split_parts(cx, a[2], s, sep, n));
}

// join SEP LIST: sprig's strslice, so nil elements vanish and a non-list is one element.
value fn_join(call_context& cx, std::span<value> a) {
  std::string_view sep;
  if (!want_string(cx, a[0], sep)) return {};
  std::string& out = cx.scratch(0);
  out.clear();
  std::span<const value> items;
  if (sprig::as_list(cx, a[1], items)) {
    bool first = true;
    for (const value& item : items) {
      if (sprig::is_nil(item)) continue;
      if (!first) out.append(sep);
      first = false;
      sprig::strval(item, out);
    }
  } else if (!sprig::is_nil(a[1])) {
    sprig::strval(a[1], out);
  }
  return cx.text(out);
}

// quote / squote: every non-nil argument, space-separated.
value quote_all(call_context& cx, std::span<value> a, bool single) {
  std::string& out = cx.scratch(0);
  std::string& text = cx.scratch(1);
  out.clear();
  bool first = true;
  for (const value& v : a) {
    if (sprig::is_nil(v)) continue;
    if (!first) out += ' ';
    first = false;
    // A string is quoted from where it is (strval would only copy it).
    std::string_view shown = v.s;
    if (v.k != kind::string) {
      text.clear();
      sprig::strval(v, text);
      shown = text;
    }
    if (single) {
      out += '\'';
      out += shown;
      out += '\'';
    } else {
      sprig::go_quote(shown, out);
    }
  }
  return cx.text(out);
}

value fn_quote(call_context& cx, std::span<value> a) { return quote_all(cx, a, false); }
value fn_squote(call_context& cx, std::span<value> a) { return quote_all(cx, a, true); }

// cat: every non-nil argument printed, space-separated.
value fn_cat(call_context& cx, std::span<value> a) {
  std::string& out = cx.scratch(0);
  out.clear();
  bool first = true;
  for (const value& v : a) {
    if (sprig::is_nil(v)) continue;
    if (!first) out += ' ';
    first = false;
    sprig::strval(v, out);
  }
  return cx.text(out);
}

// sprig's indent: every line, the first included, padded.
value indent_text(call_context& cx, std::span<value> a, bool leading_newline) {
  std::int64_t spaces = 0;
  std::string_view s;
  if (!want_int(cx, a[0], spaces) || !want_string(cx, a[1], s)) return {};
  const auto pad = static_cast<std::size_t>(std::clamp<std::int64_t>(spaces, 0, 4096));
  std::string& out = cx.scratch(0);
  out.clear();
  if (leading_newline) out += '\n';
  out.append(pad, ' ');
  for (char c : s) {
    out += c;
    if (c == '\n') out.append(pad, ' ');
  }
  return cx.text(out, a[1].origin);
}

value fn_indent(call_context& cx, std::span<value> a) { return indent_text(cx, a, false); }
value fn_nindent(call_context& cx, std::span<value> a) { return indent_text(cx, a, true); }

// trunc N s: the first N bytes; a negative N keeps the last -N.
value fn_trunc(call_context& cx, std::span<value> a) {
  std::int64_t c = 0;
  std::string_view s;
  if (!want_int(cx, a[0], c) || !want_string(cx, a[1], s)) return {};
  const auto size = static_cast<std::int64_t>(s.size());
  if (c < 0 && size + c > 0) return slice_of(a[1], s.substr(static_cast<std::size_t>(size + c)));
  if (c >= 0 && size > c) return slice_of(a[1], s.substr(0, static_cast<std::size_t>(c)));
  return a[1];
}

value fn_repeat(call_context& cx, std::span<value> a) {
  std::int64_t count = 0;
  std::string_view s;
  if (!want_int(cx, a[0], count) || !want_string(cx, a[1], s)) return {};
  if (count < 0) return sprig::fail_with(cx, "repeat", "strings: negative Repeat count");
  if (s.size() * static_cast<std::size_t>(count) > (std::size_t{1} << 24))
    return sprig::fail_with(cx, "repeat", "result too large");
  std::string& out = cx.scratch(0);
  out.clear();
  for (std::int64_t k = 0; k < count; ++k) out.append(s);
  return cx.text(out);
}

// substr START END s: bytes [START, END) as sprig's substring (START < 0: from 0;
// END < 0 or past the end: to the end); Go's slice panic is the call's error.
value fn_substr(call_context& cx, std::span<value> a) {
  std::int64_t start = 0, end = 0;
  std::string_view s;
  if (!want_int(cx, a[0], start) || !want_int(cx, a[1], end) || !want_string(cx, a[2], s)) return {};
  const auto size = static_cast<std::int64_t>(s.size());
  if (start < 0) {
    if (end < 0 || end > size) return sprig::fail_with(cx, "substr", "slice bounds out of range");
    return slice_of(a[2], s.substr(0, static_cast<std::size_t>(end)));
  }
  if (end < 0 || end > size) {
    if (start > size) return sprig::fail_with(cx, "substr", "slice bounds out of range");
    return slice_of(a[2], s.substr(static_cast<std::size_t>(start)));
  }
  if (start > end) return sprig::fail_with(cx, "substr", "slice bounds out of range");
  return slice_of(a[2], s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)));
}

}  // namespace

void add_string_functions(function_table& t) {
  auto fixed = [&t](std::string_view name, function_impl impl, std::uint8_t n) {
    t.add({.name = name, .impl = impl, .min_args = n, .max_args = n});
  };
  fixed("trim", fn_trim, 1);
  fixed("trimAll", fn_trim_all, 2);
  fixed("trimPrefix", fn_trim_prefix, 2);
  fixed("trimSuffix", fn_trim_suffix, 2);
  fixed("upper", fn_upper, 1);
  fixed("lower", fn_lower, 1);
  fixed("title", fn_title, 1);
  fixed("untitle", fn_untitle, 1);
  fixed("replace", fn_replace, 3);
  fixed("contains", fn_contains, 2);
  fixed("hasPrefix", fn_has_prefix, 2);
  fixed("hasSuffix", fn_has_suffix, 2);
  fixed("split", fn_split, 2);
  fixed("splitList", fn_split_list, 2);
  fixed("splitn", fn_splitn, 3);
  fixed("join", fn_join, 2);
  t.add({.name = "quote", .impl = fn_quote});
  t.add({.name = "squote", .impl = fn_squote});
  t.add({.name = "cat", .impl = fn_cat});
  fixed("indent", fn_indent, 2);
  fixed("nindent", fn_nindent, 2);
  fixed("trunc", fn_trunc, 2);
  fixed("repeat", fn_repeat, 2);
  fixed("substr", fn_substr, 3);
}

}  // namespace meshinject::tmpl
