// JSON Patch as a difference, as a property: for thousands of random documents
// and random edits of them (fixed seeds), the patch from a to b, applied by
// nlohmann-json, gives b. Generic JSON (keys that need RFC 6901 escaping,
// numbers of every kind, lists of named objects) and pod-shaped documents
// diffed with the Pod's merge keys.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "patch/json_diff.hpp"

namespace {

namespace json = meshinject::core::json;
namespace smp = meshinject::patch::smp;
using meshinject::core::arena;
using nl = nlohmann::json;

class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return pick(100) < percent; }

  nl scalar() {
    static const char* const strings[] = {"", "a", "name", "~", "/", "a~1b/c", "caf\xc3\xa9", "quote\"d", "line\nbreak"};
    switch (pick(9)) {
      case 0: return nullptr;
      case 1: return chance(50);
      case 2: return pick(2001) - 1000;
      case 3: return static_cast<double>(pick(1000)) / 8.0;
      case 4: return chance(50) ? nl(std::numeric_limits<std::int64_t>::max()) : nl(std::numeric_limits<std::uint64_t>::max());
      case 5: return std::numeric_limits<std::int64_t>::min() + pick(3);
      default: return strings[pick(9)];
    }
  }

  std::string key() {
    static const char* const keys[] = {"a", "b", "c", "name", "~", "/", "a/b", "x~1y", "", "\xc3\xa9", "spec", "v"};
    return keys[pick(12)];
  }

  nl named(int depth) {
    nl o = nl::object();
    o["name"] = "n" + std::to_string(pick(6));
    if (chance(70)) o["v"] = value(depth - 1);
    return o;
  }

  nl value(int depth) {
    if (depth <= 0 || chance(35)) return scalar();
    if (chance(50)) {
      nl arr = nl::array();
      const bool names = chance(50);
      for (int i = pick(7); i > 0; --i) arr.push_back(names ? named(depth) : value(depth - 1));
      return arr;
    }
    nl obj = nl::object();
    for (int i = pick(6); i > 0; --i) obj[key()] = value(depth - 1);
    return obj;
  }

  // One random change somewhere in v.
  void edit(nl& v, int depth = 0) {
    if (v.is_object() && !v.empty() && chance(60) && depth < 8) {
      auto it = v.begin();
      std::advance(it, pick(static_cast<int>(v.size())));
      if (chance(70)) return edit(it.value(), depth + 1);
      v.erase(it);
      return;
    }
    if (v.is_object()) {
      v[key()] = value(3);
      return;
    }
    if (v.is_array() && !v.empty() && chance(50) && depth < 8) {
      const auto i = static_cast<std::size_t>(pick(static_cast<int>(v.size())));
      switch (pick(4)) {
        case 0: return edit(v[i], depth + 1);
        case 1: v.erase(v.begin() + static_cast<std::ptrdiff_t>(i)); return;
        case 2: std::swap(v[i], v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))]); return;
        default: v[i] = chance(50) ? named(2) : value(2); return;
      }
    }
    if (v.is_array()) {
      const auto at = v.begin() + pick(static_cast<int>(v.size()) + 1);
      v.insert(at, chance(50) ? named(2) : value(2));
      return;
    }
    v = value(3);
  }

  nl container(const std::string& name) {
    nl c = {{"name", name}, {"image", "img" + std::to_string(pick(3))}};
    nl env = nl::array();
    for (int i = pick(5); i > 0; --i) env.push_back({{"name", "E" + std::to_string(pick(8))}, {"value", std::to_string(pick(9))}});
    if (!env.empty()) c["env"] = env;
    nl ports = nl::array();
    for (int i = pick(3); i > 0; --i) ports.push_back({{"containerPort", 80 + pick(5)}, {"protocol", "TCP"}});
    if (!ports.empty()) c["ports"] = ports;
    if (chance(50)) c["args"] = nl::array({"-u", std::to_string(pick(2000))});
    return c;
  }

  nl pod() {
    static const char* const names[] = {"app", "istio-proxy", "istio-init", "sidecar", "c1", "c2"};
    nl p;
    p["metadata"]["labels"]["app"] = "x";
    for (const char* list : {"containers", "initContainers"}) {
      nl cs = nl::array();
      for (int i = pick(4); i > 0; --i) cs.push_back(container(names[pick(6)]));
      if (!cs.empty() || std::string(list) == "containers") p["spec"][list] = cs;
    }
    return p;
  }

  // A pod edited the way injection edits one.
  void inject(nl& p) {
    static const char* const names[] = {"istio-init", "istio-proxy", "app", "c1"};
    for (int n = 1 + pick(4); n > 0; --n) {
      const char* list = chance(50) ? "containers" : "initContainers";
      nl& cs = p["spec"][list];
      if (!cs.is_array()) cs = nl::array();
      switch (pick(4)) {
        case 0: cs.insert(cs.begin(), container(names[pick(4)])); break;
        case 1: cs.push_back(container(names[pick(4)])); break;
        case 2: if (!cs.empty()) cs.erase(cs.begin() + pick(static_cast<int>(cs.size()))); break;
        default: if (!cs.empty()) edit(cs[static_cast<std::size_t>(pick(static_cast<int>(cs.size())))]); break;
      }
    }
    if (chance(50)) p["metadata"]["annotations"]["sidecar.istio.io/status"] = "{\"x\":1}";
  }

 private:
  std::mt19937_64 rng_;
};

class json_diff_property : public ::testing::Test {
 protected:
  arena a{64 * 1024};
  simdjson::dom::parser parser;
  meshinject::patch::json_differ differ;
  std::string out;

  // apply(from, diff(from, to)) == to, with nlohmann's patch().
  ::testing::AssertionResult round_trip(const nl& from, const nl& to, const smp::type_meta* type) {
    a.reset();
    json::value x, y;
    if (auto err = json::parse(from.dump(), parser, a, x)) return ::testing::AssertionFailure() << err.message;
    if (auto err = json::parse(to.dump(), parser, a, y)) return ::testing::AssertionFailure() << err.message;
    out.clear();
    if (auto err = differ.diff(x, y, type, a, out)) return ::testing::AssertionFailure() << err.message;
    nl applied;
    try {
      applied = from.patch(nl::parse(out));
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "does not apply: " << e.what() << "\nfrom " << from.dump() << "\nto   "
                                           << to.dump() << "\npatch " << out;
    }
    if (applied != to)
      return ::testing::AssertionFailure() << "from " << from.dump() << "\nto   " << to.dump() << "\npatch " << out
                                           << "\ngot  " << applied.dump();
    return ::testing::AssertionSuccess();
  }
};

TEST_F(json_diff_property, random_documents_and_edits) {
  generator g(20261127);
  for (int n = 0; n < 3000; ++n) {
    const nl from = g.value(5);
    nl to = from;
    if (g.chance(10)) {
      to = g.value(5);
    } else {
      for (int e = 1 + g.pick(6); e > 0; --e) g.edit(to);
    }
    ASSERT_TRUE(round_trip(from, to, nullptr)) << "case " << n;
  }
}

TEST_F(json_diff_property, random_pods_and_injections) {
  generator g(1337);
  std::size_t ops = 0;
  for (int n = 0; n < 1500; ++n) {
    const nl from = g.pod();
    nl to = from;
    g.inject(to);
    ASSERT_TRUE(round_trip(from, to, &smp::pod())) << "case " << n;
    ops += differ.operations();
  }
  EXPECT_GT(ops, 1500u);
}

}  // namespace
