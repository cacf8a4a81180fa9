// cmd/yaml_io: splitting without losing a byte, reading YAML as Kubernetes
// does, and writing YAML that reads back to the same object.
#include "cmd/yaml_io.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <limits>

#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

using cmd::yaml::value;

std::string joined(const std::vector<cmd::yaml::chunk>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c.separator + c.body;
  return out;
}

value read(const std::string& text) {
  const auto chunks = cmd::yaml::split_documents(text);
  EXPECT_EQ(chunks.size(), 1u);
  return cmd::yaml::from_yaml(cmd::yaml::parse_chunk(chunks.front()), chunks.front().first_line);
}

TEST(YamlSplit, KeepsEveryByteAndFindsDocumentStarts) {
  const std::string text =
      "# leading comment\n"
      "a: 1\n"
      "---\n"
      "b: |\n"
      "  ---not a marker inside\n"
      "--- # a comment on the marker\n"
      "c: 3\n"
      "---\n"
      "...\n"
      "d: 4\n"
      "----\n"
      "e: 5";
  const auto chunks = cmd::yaml::split_documents(text);
  EXPECT_EQ(joined(chunks), text);
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks[0].separator, "");
  EXPECT_EQ(chunks[0].first_line, 1);
  EXPECT_EQ(chunks[1].separator, "---\n");
  EXPECT_EQ(chunks[1].first_line, 3);
  EXPECT_EQ(chunks[2].separator, "--- # a comment on the marker\n");
  EXPECT_EQ(chunks[2].first_line, 6);
  EXPECT_EQ(chunks[3].body, "...\n");  // the "..." closes the empty document
  EXPECT_EQ(chunks[4].separator, "");
  EXPECT_EQ(chunks[4].first_line, 10);
  EXPECT_EQ(chunks[4].body, "d: 4\n----\ne: 5");  // "----" is no marker
}

TEST(YamlSplit, DirectivesBelongToTheDocumentTheyPrecede) {
  const std::string text = "a: 1\n...\n%YAML 1.1\n# c\n--- !!map\nb: 2\n";
  const auto chunks = cmd::yaml::split_documents(text);
  EXPECT_EQ(joined(chunks), text);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].separator, "%YAML 1.1\n# c\n--- !!map\n");
  EXPECT_EQ(chunks[1].first_line, 3);
  const value v = cmd::yaml::from_yaml(cmd::yaml::parse_chunk(chunks[1]), chunks[1].first_line);
  EXPECT_EQ(v.find("b")->line, 6);
}

TEST(YamlSplit, EveryConformanceInputSplitsLosslessly) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "istio-1.2" / "inject")) {
    if (e.path().extension() != ".yaml" && e.path().extension() != ".injected") continue;
    const std::string text = read_file(e.path());
    EXPECT_EQ(joined(cmd::yaml::split_documents(text)), text) << e.path();
    ++files;
  }
  EXPECT_GT(files, 50);
}

TEST(YamlSplit, SyntaxErrorsCarryTheFileLine) {
  const auto chunks = cmd::yaml::split_documents("a: 1\n---\nb: 2\nc: d\n  e: f: g\n");
  ASSERT_EQ(chunks.size(), 2u);
  try {
    cmd::yaml::parse_chunk(chunks[1]);
    FAIL() << "no error";
  } catch (const cmd::yaml::input_error& e) {
    EXPECT_EQ(e.line, 5);
    EXPECT_EQ(e.column, 4);
    EXPECT_NE(std::string(e.what()).find("invalid YAML"), std::string::npos);
  }
}

TEST(YamlRead, TypesScalarsAsKubernetesDoes) {
  const value v = read(
      "int: 1337\n"
      "quoted: \"1337\"\n"
      "yes11: yes\n"
      "off11: Off\n"
      "octal: 0777\n"
      "float: 1.5\n"
      "tilde: ~\n"
      "empty:\n"
      "block: |\n"
      "  true\n"
      "tagged: !!str 12\n"
      "tagged_int: !!int \"12\"\n"
      "version: 1.0\n"
      "str: hello\n");
  EXPECT_EQ(v.find("int")->k, value::kind::integer);
  EXPECT_EQ(v.find("int")->i, 1337);
  EXPECT_EQ(v.find("quoted")->k, value::kind::string);
  EXPECT_EQ(v.find("yes11")->k, value::kind::boolean);
  EXPECT_TRUE(v.find("yes11")->b);
  EXPECT_FALSE(v.find("off11")->b);
  EXPECT_EQ(v.find("octal")->i, 511);
  EXPECT_EQ(v.find("float")->k, value::kind::floating);
  EXPECT_TRUE(v.find("tilde")->is_null());
  EXPECT_TRUE(v.find("empty")->is_null());
  EXPECT_EQ(v.find("block")->s, "true\n");
  EXPECT_EQ(v.find("tagged")->s, "12");
  EXPECT_EQ(v.find("tagged_int")->i, 12);
  EXPECT_EQ(v.find("version")->k, value::kind::floating);
  EXPECT_EQ(v.find("str")->s, "hello");
  EXPECT_EQ(v.find("str")->line, 14);
  EXPECT_EQ(v.find("str")->column, 6);
}

TEST(YamlRead, MergeKeysAndKeyTyping) {
  const value v = read(
      "base: &base {a: 1, b: 2}\n"
      "derived:\n"
      "  <<: *base\n"
      "  b: 3\n"
      "keys: {80: x, true: y}\n");
  const value* d = v.find("derived");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->find("a")->i, 1);
  EXPECT_EQ(d->find("b")->i, 3);  // explicit keys win over merged ones
  EXPECT_EQ(d->find("<<"), nullptr);
  EXPECT_NE(v.find("keys")->find("80"), nullptr);
  EXPECT_NE(v.find("keys")->find("true"), nullptr);
}

TEST(YamlRead, DuplicateKeysAndUnknownTagsAreErrorsWithPositions) {
  try {
    read("a: 1\nb:\n  c: 1\n  c: 2\n");
    FAIL() << "no error";
  } catch (const cmd::yaml::input_error& e) {
    EXPECT_EQ(e.line, 4);
    EXPECT_EQ(e.column, 3);
    EXPECT_NE(std::string(e.what()).find("duplicate key \"c\" (first at line 3)"), std::string::npos);
  }
  EXPECT_THROW(read("a: !custom x\n"), cmd::yaml::input_error);
  EXPECT_THROW(read("a: !!int abc\n"), cmd::yaml::input_error);
}

TEST(YamlJson, WritesJsonAndRefusesWhatJsonCannotHold) {
  const value v = read("a: [1, 'x\"y', true, null, 2.5]\nb: {c: {}}\n");
  EXPECT_EQ(cmd::yaml::to_json(v), R"({"a":[1,"x\"y",true,null,2.5],"b":{"c":{}}})");
  EXPECT_THROW(cmd::yaml::to_json(read("a: .inf\n")), std::runtime_error);
  simdjson::dom::parser p;
  const value back = cmd::yaml::from_json(p.parse(simdjson::padded_string(cmd::yaml::to_json(v))).value());
  EXPECT_TRUE(back == v);
}

// A string written as a value and as a key reads back as the same string, with
// both go-yaml-style typing (the test support's reader) and yaml-cpp.
void expect_round_trip(const std::string& s) {
  value doc = value::mapping();
  doc.members.emplace_back("k", value::string(s));
  doc.members.emplace_back(s.empty() || s.find('\n') != std::string::npos ? "other" : s, value::string("v"));
  const std::string text = cmd::yaml::emit(doc);
  json back;
  try {
    back = yaml_to_json(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unreadable YAML for " << json(s).dump() << ": " << e.what() << "\n" << text;
    return;
  }
  EXPECT_EQ(back["k"], json(s)) << text;
  if (!s.empty() && s.find('\n') == std::string::npos) {
    EXPECT_TRUE(back.contains(s)) << text;
  }
}

TEST(YamlEmit, QuotesStringsThatWouldReadBackAsAnotherType) {
  for (const std::string s : {"1337",
                              "15020",
                              "true",
                              "True",
                              "yes",
                              "on",
                              "off",
                              "y",
                              "n",
                              "null",
                              "~",
                              "",
                              "*",
                              "&a",
                              "!x",
                              "1.0",
                              "0777",
                              "0x1F",
                              "1e3",
                              ".5",
                              "-1",
                              "+1",
                              ".inf",
                              "-.inf",
                              ".nan",
                              "2001-12-14",
                              "12:30",
                              "0o17",
                              "1_000",
                              "a: b",
                              "a #b",
                              "#c",
                              "- x",
                              "-",
                              "?",
                              ":",
                              "---",
                              "...",
                              " lead",
                              "trail ",
                              "'",
                              "\"",
                              "[x]",
                              "{x}",
                              "%x",
                              "@x",
                              "`x",
                              "|",
                              ">",
                              "<<",
                              "=",
                              "a\tb",
                              "bell\x07",
                              "nel\xC2\x85"
                              "x",
                              "line\xE2\x80\xA8sep",
                              "\xEF\xBB\xBF"
                              "bom",
                              "multi\nline",
                              "multi\nline\n",
                              "multi\nline\n\n",
                              "\nleading newline",
                              " indented\nsecond",
                              "x\n  y\n",
                              "$(POD_NAMESPACE).svc.cluster.local",
                              "fake.docker.io/google-samples/hello-go-gke:1.0",
                              "10m",
                              "-c",
                              "--domain",
                              "{\"version\":\"\"}",
                              "unicode é ü 日本",
                              "a,b",
                              "x:y",
                              "http://x"})
    expect_round_trip(s);
}

TEST(YamlEmit, UsesPlainScalarsWhereSafeAndKubectlLayout) {
  EXPECT_EQ(cmd::yaml::style_for("hello", false), cmd::yaml::scalar_style::plain);
  EXPECT_EQ(cmd::yaml::style_for("10m", false), cmd::yaml::scalar_style::plain);
  EXPECT_EQ(cmd::yaml::style_for("-c", false), cmd::yaml::scalar_style::plain);
  EXPECT_EQ(cmd::yaml::style_for("1337", false), cmd::yaml::scalar_style::single_quoted);
  EXPECT_EQ(cmd::yaml::style_for("a\nb", false), cmd::yaml::scalar_style::literal);
  EXPECT_EQ(cmd::yaml::style_for("a\x01", false), cmd::yaml::scalar_style::double_quoted);
  const value v = read(
      "spec:\n"
      "  containers:\n"
      "  - name: a\n"
      "    args: ['1', x]\n"
      "    env: []\n"
      "  volumes: {}\n"
      "  nested:\n"
      "  - - 1\n"
      "    - 2\n");
  EXPECT_EQ(cmd::yaml::emit(v),
            "spec:\n"
            "  containers:\n"
            "  - name: a\n"
            "    args:\n"
            "    - '1'\n"
            "    - x\n"
            "    env: []\n"
            "  volumes: {}\n"
            "  nested:\n"
            "  - - 1\n"
            "    - 2\n");
}

TEST(YamlEmit, EveryConformanceInputReadsBackTheSame) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  int documents = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "istio-1.2" / "inject")) {
    if (e.path().extension() != ".yaml" && e.path().extension() != ".injected") continue;
    for (const auto& c : cmd::yaml::split_documents(read_file(e.path()))) {
      YAML::Node node;
      try {
        node = cmd::yaml::parse_chunk(c);
      } catch (const cmd::yaml::input_error& x) {
        // Upstream's app_probe/ready_live.yaml.injected holds merge-conflict markers.
        EXPECT_EQ(e.path().extension(), ".injected") << e.path() << ": " << x.what();
        continue;
      }
      if (!node.IsDefined() || node.IsNull()) continue;
      const value v = cmd::yaml::from_yaml(node, c.first_line);
      const std::string emitted = cmd::yaml::emit(v);
      try {
        EXPECT_EQ(semantic_diff(yaml_to_json(c.separator + c.body), yaml_to_json(emitted)), "") << e.path() << "\n"
                                                                                                << emitted;
        // Emitting what was emitted changes nothing: the layout is stable.
        EXPECT_EQ(cmd::yaml::emit(read(emitted)), emitted) << e.path();
      } catch (const std::exception& x) {
        ADD_FAILURE() << e.path() << ": " << x.what() << "\n" << emitted;
      }
      ++documents;
    }
  }
  EXPECT_GT(documents, 50);
}

}  // namespace
}  // namespace meshinject::test
