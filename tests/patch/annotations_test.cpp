// Istio's checks of its per-pod annotations (SPEC section 5; 1.1's set plus today's
// resource quantities and merge-metrics): each rule, Go's
// parsing quirks (strconv.ParseUint, net.ParseCIDR, strings.TrimSpace where
// Istio trims and nowhere else), and the rejected inputs of Istio 1.2's
// kube-inject tests, which must answer allowed:false naming the annotation.

#include <gtest/gtest.h>

#include <simdjson.h>

#include "patch/admission.hpp"
#include "patch/annotations.hpp"
#include "patch/injector.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

struct verdict {
  bool ok = false;
  std::string error;
};

verdict validate(const json& annotations) {
  const json pod = {{"metadata", {{"name", "p"}, {"annotations", annotations}}}, {"spec", json::object()}};
  simdjson::dom::parser parser;
  const std::string text = pod.dump();
  simdjson::dom::element el;
  EXPECT_FALSE(parser.parse(text).get(el));
  patch::pod p;
  std::string error;
  EXPECT_TRUE(patch::parse_pod(el, "default", p, error)) << error;
  verdict v;
  v.ok = patch::validate_annotations(p, v.error);
  return v;
}

void expect_valid(const std::string& key, const std::string& value) {
  const verdict v = validate({{key, value}});
  EXPECT_TRUE(v.ok) << key << "=\"" << value << "\": " << v.error;
}

void expect_invalid(const std::string& key, const std::string& value) {
  const verdict v = validate({{key, value}});
  EXPECT_FALSE(v.ok) << key << "=\"" << value << "\" was accepted";
  EXPECT_NE(v.error.find(key), std::string::npos) << v.error;
  EXPECT_NE(v.error.find(value), std::string::npos) << v.error;
}

// --------------------------------------------------------------- helpers

TEST(annotation_helpers, parse_go_bool) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    bool b = false;
    EXPECT_TRUE(patch::parse_go_bool(t, b)) << t;
    EXPECT_TRUE(b) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    bool b = true;
    EXPECT_TRUE(patch::parse_go_bool(f, b)) << f;
    EXPECT_FALSE(b) << f;
  }
  for (const char* bad : {"", "yes", "on", "tRUE", " true", "true ", "2", "y"}) {
    bool b = false;
    EXPECT_FALSE(patch::parse_go_bool(bad, b)) << bad;
  }
}

TEST(annotation_helpers, parse_port) {
  int port = -1;
  EXPECT_TRUE(patch::parse_port("0", port));
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(patch::parse_port("65535", port));
  EXPECT_EQ(port, 65535);
  EXPECT_TRUE(patch::parse_port("  15020 ", port));
  EXPECT_EQ(port, 15020);
  EXPECT_TRUE(patch::parse_port("\t80\n", port));
  EXPECT_EQ(port, 80);
  EXPECT_TRUE(patch::parse_port("0080", port));
  EXPECT_EQ(port, 80);
  for (const char* bad : {"", " ", "65536", "-1", "+1", "0x50", "80a", "8 0", "1_000", "99999999999999999999999"})
    EXPECT_FALSE(patch::parse_port(bad, port)) << bad;
}

// ------------------------------------------------------------- each rule

TEST(annotation_rules, interception_mode) {
  const std::string k = "sidecar.istio.io/interceptionMode";
  for (const char* v : {"REDIRECT", "TPROXY", "NONE"}) expect_valid(k, v);
  for (const char* v : {"redirect", "Tproxy", "none", "", " REDIRECT", "REDIRECT ", "IPTABLES"}) expect_invalid(k, v);
}

TEST(annotation_rules, status_port) {
  const std::string k = "status.sidecar.istio.io/port";
  for (const char* v : {"0", "15020", "65535", " 15020", "15020  ", "\t1\n"}) expect_valid(k, v);
  for (const char* v : {"", "65536", "-1", "http", "15020,15021", "1.0"}) expect_invalid(k, v);
}

TEST(annotation_rules, readiness_settings_are_uint32_without_spaces) {
  for (const char* k : {"readiness.status.sidecar.istio.io/initialDelaySeconds",
                              "readiness.status.sidecar.istio.io/periodSeconds",
                              "readiness.status.sidecar.istio.io/failureThreshold"}) {
    SCOPED_TRACE(k);
    for (const char* v : {"0", "1", "30", "4294967295", "007"}) expect_valid(k, v);
    for (const char* v : {"", " 1", "1 ", "-1", "+1", "4294967296", "1.5", "1s", "0x10", "99999999999999999999999"})
      expect_invalid(k, v);
  }
}

TEST(annotation_rules, application_ports) {
  const std::string k = "readiness.status.sidecar.istio.io/applicationPorts";
  for (const char* v : {"*", "", "  ", "8080", "8080,9090", "8080, 9090", " 1 , 2 ", "0,65535"}) expect_valid(k, v);
  for (const char* v : {"80,,90", "80,", ",80", "80,abc", "99999", "* ", "*,80", "80;90"}) expect_invalid(k, v);
}

TEST(annotation_rules, include_outbound_ip_ranges) {
  const std::string k = "traffic.sidecar.istio.io/includeOutboundIPRanges";
  for (const char* v : {"*", "", "10.0.0.0/8", "10.0.0.0/8,192.168.0.0/16", "127.0.0.1/24,10.96.0.1/24", "0.0.0.0/0",
                        "::1/128", "2001:db8::/32", "2001:0db8::/32", "10.0.0.0/8,fd00::/8", "10.0.0.0/32"})
    expect_valid(k, v);
  for (const char* v : {"bad", "10.0.0.1", "10.0.0.0/8, 192.168.0.0/16", " 10.0.0.0/8", "10.0.0.0/8 ", "010.0.0.0/8",
                        "10.00.0.0/8", "10.0.0.0/33", "::1/129", "10.0.0.0/", "/8", "10.0.0/8", "10.0.0.0/8,",
                        ",10.0.0.0/8", "*,10.0.0.0/8", "10.0.0.0/-1", "10.0.0.0/8/9", "256.0.0.0/8", "fe80::1%eth0/64",
                        "10.0.0.0/ 8"})
    expect_invalid(k, v);
}

TEST(annotation_rules, exclude_outbound_ip_ranges_has_no_wildcard) {
  const std::string k = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
  for (const char* v : {"", "10.96.0.2/24,10.96.0.3/24", "::/0"}) expect_valid(k, v);
  for (const char* v : {"*", "bad", "10.96.0.2/24, 10.96.0.3/24"}) expect_invalid(k, v);
}

TEST(annotation_rules, inbound_port_lists) {
  const std::string include = "traffic.sidecar.istio.io/includeInboundPorts";
  const std::string exclude = "traffic.sidecar.istio.io/excludeInboundPorts";
  for (const char* v : {"*", "", "1,2,3", "80, 443", " 80 "}) expect_valid(include, v);
  for (const char* v : {"bad", "80,bad", "70000", "80,,81"}) expect_invalid(include, v);
  for (const char* v : {"", "4,5,6", "15020 , 15021"}) expect_valid(exclude, v);
  for (const char* v : {"*", "bad", "-1"}) expect_invalid(exclude, v);
}

TEST(annotation_rules, exclude_outbound_ports) {
  const std::string k = "traffic.sidecar.istio.io/excludeOutboundPorts";
  for (const char* v : {"", "7,8,9", " 7 , 8 "}) expect_valid(k, v);
  for (const char* v : {"bad", "*", "65536"}) expect_invalid(k, v);
}

// Copied into the proxy's resources by the template: a bad one made the apiserver
// refuse the pod with an error about container resources, never naming the annotation.
TEST(annotation_rules, resource_quantities) {
  for (const char* k : {"sidecar.istio.io/proxyCPU", "sidecar.istio.io/proxyCPULimit", "sidecar.istio.io/proxyMemory",
                        "sidecar.istio.io/proxyMemoryLimit"}) {
    for (const char* v : {"100m", "2", "0.5", ".5", "1.", "+1", "128Mi", "1Gi", "1k", "1e3", "1E-2", "250u", "4000m"})
      expect_valid(k, v);
    for (const char* v : {"lots", "", "m", "1.5.2", "1 Gi", " 1", "1gi", "1KB", "1e", "1e+", "1ex", "100m\n", "Gi"})
      expect_invalid(k, v);
  }
  const verdict v = validate({{"sidecar.istio.io/proxyCPU", "lots"}});
  EXPECT_EQ(v.error,
            "invalid value \"lots\" for annotation sidecar.istio.io/proxyCPU: not a Kubernetes resource quantity such "
            "as 100m, 0.5, 128Mi or 1Gi");
}

TEST(annotation_rules, interface_name_lists) {
  for (const char* k : {"traffic.sidecar.istio.io/excludeInterfaces", "traffic.sidecar.istio.io/kubevirtInterfaces",
                        "istio.io/reroute-virtual-interfaces"}) {
    for (const char* v : {"", "net1", "net1,net2", "net1ps5,net2qr9", " eth0 , eth1", "veth-a_b.1", "abcdefghijklmno"})
      expect_valid(k, v);
    for (const char* v : {"net1,,", "1net", "eth0;rm", "abcdefghijklmnop", "net/1", " , "}) expect_invalid(k, v);
  }
}

TEST(annotation_rules, merge_metrics_is_a_go_bool) {
  const std::string k = "prometheus.istio.io/merge-metrics";
  for (const char* v : {"true", "false", "1", "0", "T", "False"}) expect_valid(k, v);
  for (const char* v : {"yes", "", "on", "truee"}) expect_invalid(k, v);
}

TEST(annotation_rules, a_bad_quantity_is_refused_at_admission_naming_the_annotation) {
  const auto snap = mt::make_snapshot(mt::injection_config_text("containers:\n- name: x\n  image: i\n"));
  patch::engine e(snap);
  json pod = {{"metadata", {{"name", "p"}, {"annotations", {{"sidecar.istio.io/proxyCPU", "lots"}}}}},
              {"spec", {{"containers", json::array({{{"name", "a"}}})}}}};
  patch::injection_result r;
  const json response = mt::run_review(e, mt::make_review(pod), &r);
  EXPECT_EQ(r.kind, patch::outcome::rejected);
  EXPECT_FALSE(response["response"]["allowed"].get<bool>());
  const std::string message = response["response"]["status"]["message"];
  EXPECT_NE(message.find("sidecar.istio.io/proxyCPU"), std::string::npos) << message;
  EXPECT_NE(message.find("\"lots\""), std::string::npos) << message;
}

TEST(annotation_rules, other_annotations_are_not_checked) {
  const json annotations = {{"sidecar.istio.io/proxyImage", "anything: at all"},
                            {"sidecar.istio.io/inject", "maybe"},
                            {"sidecar.istio.io/userVolume", "not json"},
                            {"sidecar.istio.io/interceptionmode", "lowercase key is a different key"},
                            {"example.com/port", "x"},
                            {"", ""}};
  const verdict v = validate(annotations);
  EXPECT_TRUE(v.ok) << v.error;
  EXPECT_TRUE(validate(json::object()).ok);
}

TEST(annotation_rules, every_bad_annotation_is_named) {
  const verdict v = validate({{"sidecar.istio.io/interceptionMode", "X"},
                              {"status.sidecar.istio.io/port", "p"},
                              {"traffic.sidecar.istio.io/excludeInboundPorts", "*"},
                              {"sidecar.istio.io/proxyImage", "fine"}});
  EXPECT_FALSE(v.ok);
  for (const char* k : {"sidecar.istio.io/interceptionMode", "status.sidecar.istio.io/port",
                        "traffic.sidecar.istio.io/excludeInboundPorts"})
    EXPECT_NE(v.error.find(k), std::string::npos) << v.error;
  EXPECT_EQ(v.error.find("proxyImage"), std::string::npos) << v.error;
  EXPECT_NE(v.error.find("; "), std::string::npos) << v.error;
}

TEST(annotation_rules, the_message_quotes_the_bad_item) {
  const verdict v = validate({{"traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/8,oops"}});
  EXPECT_NE(v.error.find("'oops' is not a CIDR"), std::string::npos) << v.error;
  const verdict w = validate({{"traffic.sidecar.istio.io/includeInboundPorts", "80,,90"}});
  EXPECT_NE(w.error.find("'' is not a port number"), std::string::npos) << w.error;
  const verdict m = validate({{"sidecar.istio.io/interceptionMode", "redirect"}});
  EXPECT_NE(m.error.find("REDIRECT, TPROXY or NONE"), std::string::npos) << m.error;
}

TEST(annotation_rules, hostile_values_are_reported_without_breaking_the_response) {
  const auto snap = mt::make_snapshot(mt::injection_config_text("containers:\n- name: x\n  image: i\n"));
  patch::engine e(snap);
  const std::string value = "\"}],\n\\bad\xc3\xa9";
  json pod = {{"metadata", {{"name", "p"}, {"annotations", {{"status.sidecar.istio.io/port", value}}}}},
              {"spec", {{"containers", json::array({{{"name", "a"}}})}}}};
  const json response = mt::run_review(e, mt::make_review(pod));
  EXPECT_FALSE(response["response"]["allowed"].get<bool>());
  const std::string message = response["response"]["status"]["message"];
  EXPECT_NE(message.find(value), std::string::npos) << message;
  EXPECT_EQ(response["response"]["status"]["code"], 400);
}

// ------------------------------------------- Istio 1.2 kube-inject inputs

json pod_template_of(const std::filesystem::path& file) {
  const json deployment = mt::yaml_to_json(mt::read_file(file));
  json pod = deployment["spec"]["template"];
  if (!pod.contains("spec")) pod["spec"] = json::object();
  return pod;
}

TEST(annotation_conformance, istio_12_bad_traffic_annotations_are_rejected) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.2" / "inject";
  const std::pair<const char*, const char*> cases[] = {
      {"traffic-annotations-bad-excludeinboundports.yaml", "traffic.sidecar.istio.io/excludeInboundPorts"},
      {"traffic-annotations-bad-excludeipranges.yaml", "traffic.sidecar.istio.io/excludeOutboundIPRanges"},
      {"traffic-annotations-bad-excludeoutboundports.yaml", "traffic.sidecar.istio.io/excludeOutboundPorts"},
      {"traffic-annotations-bad-includeinboundports.yaml", "traffic.sidecar.istio.io/includeInboundPorts"},
      {"traffic-annotations-bad-includeipranges.yaml", "traffic.sidecar.istio.io/includeOutboundIPRanges"},
  };
  patch::engine embedded(patch::snapshot::build(patch::config_sources{}));
  for (const auto& [file, annotation] : cases) {
    SCOPED_TRACE(file);
    const json pod = pod_template_of(dir / file);
    const verdict v = validate(pod["metadata"]["annotations"]);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.error.find(annotation), std::string::npos) << v.error;

    patch::injection_result r;
    const json response = mt::run_review(embedded, mt::make_review(pod, "admission.k8s.io/v1", "u", "default"), &r);
    EXPECT_EQ(r.http_status, 200);
    EXPECT_EQ(r.kind, patch::outcome::rejected);
    EXPECT_FALSE(response["response"]["allowed"].get<bool>());
    EXPECT_FALSE(response["response"].contains("patch"));
    const std::string message = response["response"]["status"]["message"];
    EXPECT_NE(message.find(annotation), std::string::npos) << message;
    EXPECT_EQ(response["response"]["auditAnnotations"]["decision"], "reject");
  }
}

TEST(annotation_conformance, istio_12_good_annotation_inputs_are_accepted) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.2" / "inject";
  for (const char* file : {"traffic-annotations.yaml", "traffic-annotations-wildcards.yaml",
                           "traffic-annotations-empty-includes.yaml", "status_annotations.yaml"}) {
    SCOPED_TRACE(file);
    const json pod = pod_template_of(dir / file);
    const verdict v = validate(pod["metadata"]["annotations"]);
    EXPECT_TRUE(v.ok) << v.error;
  }
}

}  // namespace
