#include "patch/annotations.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace meshinject::patch {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r' ||
                        s.front() == '\v' || s.front() == '\f'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\v' || s.back() == '\f'))
    s.remove_suffix(1);
  return s;
}

// strconv.ParseUint(s, 10, bits)
bool parse_uint(std::string_view s, int bits, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  if (bits < 64 && v >= (std::uint64_t{1} << bits)) return false;
  out = v;
  return true;
}

// net.ParseCIDR: an IPv4 or IPv6 address, '/', a prefix length.
bool valid_cidr(std::string_view s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash + 1 >= s.size()) return false;
  const std::string_view addr = s.substr(0, slash);
  const std::string_view bits = s.substr(slash + 1);
  if (addr.size() >= 64) return false;
  char buf[64];
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';
  std::array<unsigned char, 16> out;
  int max_bits;
  if (addr.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, out.data()) != 1) return false;
    max_bits = 128;
  } else {
    // Go rejects leading zeros in IPv4 octets ("010.0.0.1").
    std::size_t start = 0;
    for (int part = 0; part < 4; ++part) {
      const std::size_t dot = addr.find('.', start);
      const std::string_view octet = addr.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (octet.size() > 1 && octet[0] == '0') return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (inet_pton(AF_INET, buf, out.data()) != 1) return false;
    max_bits = 32;
  }
  if (bits.size() > 3) return false;
  int n = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n <= max_bits;
}

// Why a value is invalid: the offending list item (if any) and a static
// explanation, so validating allocates nothing.
struct reason {
  std::string_view item;
  std::string_view text;
  bool has_item = false;  // quote `item` (possibly empty) before the text
};

bool valid_cidr_list(std::string_view s, reason& why) {
  if (s.empty()) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    const std::string_view item = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (!valid_cidr(item)) {
      why = {item, "is not a CIDR such as 10.0.0.0/8", true};
      return false;
    }
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

bool valid_port_list(std::string_view s, reason& why) {
  s = trim(s);
  if (s.empty()) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    const std::string_view item = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int port;
    if (!parse_port(item, port)) {
      why = {item, "is not a port number (0-65535)", true};
      return false;
    }
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

using validator = bool (*)(std::string_view value, reason& why);

bool interception_mode(std::string_view v, reason& why) {
  if (v == "REDIRECT" || v == "TPROXY" || v == "NONE") return true;
  why = {{}, "use REDIRECT, TPROXY or NONE"};
  return false;
}
bool status_port(std::string_view v, reason& why) {
  int port;
  if (parse_port(v, port)) return true;
  why = {{}, "not a port number (0-65535)"};
  return false;
}
bool uint32_value(std::string_view v, reason& why) {
  std::uint64_t n;
  if (parse_uint(v, 32, n)) return true;
  why = {{}, "not an unsigned 32-bit integer"};
  return false;
}
// resource.ParseQuantity's grammar: a signed decimal number, then a binary SI
// (Ki..Ei), decimal SI (n, u, m, k, M..E) or exponent (e3, E-2) suffix. The
// template copies the value into the proxy's resources, where the apiserver would
// refuse the pod with an error that never names the annotation.
bool valid_quantity(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool digits = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, digits = true;
  }
  if (!digits) return false;
  const std::string_view suffix = s.substr(i);
  for (std::string_view unit : {"", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"})
    if (suffix == unit) return true;
  if (suffix[0] != 'e' && suffix[0] != 'E') return false;
  std::size_t e = 1;
  if (e < suffix.size() && (suffix[e] == '+' || suffix[e] == '-')) ++e;
  if (e == suffix.size()) return false;
  for (; e < suffix.size(); ++e)
    if (suffix[e] < '0' || suffix[e] > '9') return false;
  return true;
}

bool quantity(std::string_view v, reason& why) {
  if (valid_quantity(v)) return true;
  why = {{}, "not a Kubernetes resource quantity such as 100m, 0.5, 128Mi or 1Gi"};
  return false;
}
bool go_bool(std::string_view v, reason& why) {
  bool ignored;
  if (parse_go_bool(v, ignored)) return true;
  why = {{}, "not a boolean (true or false)"};
  return false;
}
// Istio's ValidateInterfaceNames: comma-separated Linux interface names, each
// trimmed, 1 to 15 characters, a letter then letters, digits, '_', '.' or '-'.
bool interface_names(std::string_view s, reason& why) {
  if (s.empty()) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    const std::string_view item = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const std::string_view name = trim(item);
    bool ok = !name.empty() && name.size() <= 15 &&
              ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'));
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-');
    if (!ok) {
      why = {item, "is not an interface name (a letter, then letters, digits, _ . -; at most 15)", true};
      return false;
    }
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}
bool ports_or_star(std::string_view v, reason& why) { return v == "*" || valid_port_list(v, why); }
bool ports(std::string_view v, reason& why) { return valid_port_list(v, why); }
bool cidrs_or_star(std::string_view v, reason& why) { return v == "*" || valid_cidr_list(v, why); }
bool cidrs(std::string_view v, reason& why) { return valid_cidr_list(v, why); }

struct rule {
  std::string_view name;
  validator check;
};

constexpr rule rules[] = {
    {"sidecar.istio.io/interceptionMode", interception_mode},
    {"status.sidecar.istio.io/port", status_port},
    {"readiness.status.sidecar.istio.io/initialDelaySeconds", uint32_value},
    {"readiness.status.sidecar.istio.io/periodSeconds", uint32_value},
    {"readiness.status.sidecar.istio.io/failureThreshold", uint32_value},
    {"readiness.status.sidecar.istio.io/applicationPorts", ports_or_star},
    {"traffic.sidecar.istio.io/includeOutboundIPRanges", cidrs_or_star},
    {"traffic.sidecar.istio.io/excludeOutboundIPRanges", cidrs},
    {"traffic.sidecar.istio.io/includeInboundPorts", ports_or_star},
    {"traffic.sidecar.istio.io/excludeInboundPorts", ports},
    {"traffic.sidecar.istio.io/excludeOutboundPorts", ports},
    {"sidecar.istio.io/proxyCPU", quantity},
    {"sidecar.istio.io/proxyCPULimit", quantity},
    {"sidecar.istio.io/proxyMemory", quantity},
    {"sidecar.istio.io/proxyMemoryLimit", quantity},
    {"prometheus.istio.io/merge-metrics", go_bool},
    {"traffic.sidecar.istio.io/excludeInterfaces", interface_names},
    {"traffic.sidecar.istio.io/kubevirtInterfaces", interface_names},
    {"istio.io/reroute-virtual-interfaces", interface_names},
};

}  // namespace

bool parse_port(std::string_view s, int& port) noexcept {
  std::uint64_t v;
  if (!parse_uint(trim(s), 16, v)) return false;
  port = static_cast<int>(v);
  return true;
}

bool parse_go_bool(std::string_view s, bool& out) noexcept {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") {
    out = true;
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    out = false;
    return true;
  }
  return false;
}

bool validate_annotations(const pod& p, std::string& error) {
  bool ok = true;
  for (const core::label& a : p.annotations) {
    // Cheap pre-filter: every validated annotation mentions "istio.io/".
    if (a.key.find("istio.io/") == std::string_view::npos) continue;
    for (const rule& r : rules) {
      if (a.key != r.name) continue;
      reason why;
      if (!r.check(a.value, why)) {
        if (!ok) error += "; ";
        else error.clear();
        ok = false;
        error += "invalid value \"";
        error.append(a.value);
        error += "\" for annotation ";
        error.append(a.key);
        error += ": ";
        if (why.has_item) {
          error += '\'';
          error.append(why.item);
          error += "' ";
        }
        error.append(why.text);
      }
    }
  }
  return ok;
}

}  // namespace meshinject::patch
