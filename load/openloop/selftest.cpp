// Checks of openloop's offline parts: durations, URLs, percentiles, the window.
#include "admission_check.hpp"
#include "options.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <cstdio>
#include <string>

namespace ml = meshinject::load;
using namespace std::chrono_literals;

namespace {
int failed = 0, passed = 0;
void expect(bool ok, const char* what) {
  if (ok) ++passed;
  else { ++failed; std::fprintf(stderr, "FAILED: %s\n", what); }
}
#define EXPECT(x) expect((x), #x)
}  // namespace

int main() {
  EXPECT(ml::parse_duration("10s") == 10s);
  EXPECT(ml::parse_duration("250ms") == 250ms);
  EXPECT(ml::parse_duration("1m30s") == 90s);
  EXPECT(ml::parse_duration("2") == 2s);
  EXPECT(ml::parse_duration("1.5s") == 1500ms);
  EXPECT(!ml::parse_duration(""));
  EXPECT(!ml::parse_duration("1m30"));
  EXPECT(!ml::parse_duration("ten"));
  EXPECT(!ml::parse_duration("-1s"));

  auto u = ml::parse_url("https://127.0.0.1:9443/inject");
  EXPECT(u && u->host == "127.0.0.1" && u->port == "9443" && u->path == "/inject");
  u = ml::parse_url("https://localhost");
  EXPECT(u && u->host == "localhost" && u->port == "443" && u->path == "/");
  u = ml::parse_url("https://[::1]:8443/a?b=c");
  EXPECT(u && u->host == "::1" && u->port == "8443" && u->path == "/a?b=c");
  EXPECT(!ml::parse_url("http://127.0.0.1/"));
  EXPECT(!ml::parse_url("https://host:port/"));
  EXPECT(!ml::parse_url("https:///x"));

  // 1..1000 us, due every ms; nearest-rank percentiles are exact.
  std::vector<ml::sample> xs;
  for (int i = 1; i <= 1000; ++i) {
    xs.push_back({(i - 1) * 1'000'000LL, i * 1000LL, static_cast<std::uint8_t>(ml::outcome::ok)});
  }
  xs.push_back({-5'000'000, 6'000'000, static_cast<std::uint8_t>(ml::outcome::ok)});  // warm-up, done at 1 ms
  xs.push_back({2'000'000'000, 1, static_cast<std::uint8_t>(ml::outcome::ok)}); // after the window
  xs.push_back({500'000, 0, static_cast<std::uint8_t>(ml::outcome::unfinished)});
  xs.push_back({600'000, 7, static_cast<std::uint8_t>(ml::outcome::transport_error)});
  xs.push_back({700'000, 7, static_cast<std::uint8_t>(ml::outcome::http_error)});
  auto s = ml::summarize(xs, 1'000'000'000);
  EXPECT(s.scheduled == 1003);
  EXPECT(s.ok == 1000 && s.unfinished == 1 && s.transport_errors == 1 && s.http_errors == 1);
  EXPECT(s.errors() == 3);
  EXPECT(s.percentile_ns(50) == 500'000);
  EXPECT(s.percentile_ns(99) == 990'000);
  EXPECT(s.percentile_ns(99.9) == 999'000);
  EXPECT(s.percentile_ns(100) == 1'000'000);
  EXPECT(s.percentile_ns(0) == 1'000);
  EXPECT(s.mean_ns() == 500'500.0);
  // Completed inside the 1 s window: 999 in-window ok answers (the last ends at 1 s, the
  // window's end), the warm-up one and the http error.
  EXPECT(s.achieved_rate == 1001.0);
  const std::string tsv = ml::spectrum_tsv(s);
  EXPECT(tsv.rfind("percentile\tlatency_us\tinv_tail\n", 0) == 0);
  EXPECT(tsv.find("100.000000\t1000.000\t1000.000\n") != std::string::npos);

  // --check-admission: the uid sent, allowed, and a patch; anything else names its problem.
  EXPECT(ml::admission_request_uid(R"({"kind":"AdmissionReview","request":{"uid":"u-1","object":{"metadata":{"uid":"pod"}}}})") == "u-1");
  EXPECT(!ml::admission_request_uid(R"({"request":{}})"));
  EXPECT(!ml::admission_request_uid("not json"));
  EXPECT(ml::admission_answer_problem(R"({"response":{"uid":"u-1","allowed":true,"patch":"W10="}})", "u-1").empty());
  EXPECT(ml::admission_answer_problem(R"({"response":{"uid":"u-2","allowed":true,"patch":"W10="}})", "u-1").find("uid") != std::string::npos);
  EXPECT(ml::admission_answer_problem(R"({"response":{"uid":"u-1","allowed":true}})", "u-1") == "response has no patch");
  EXPECT(ml::admission_answer_problem(R"({"response":{"uid":"u-1","allowed":false,"patch":"W10="}})", "u-1") == "response.allowed is not true");
  EXPECT(ml::admission_answer_problem("<html>", "u-1") == "answer is not JSON");

  const char* review =
      R"({"kind":"AdmissionReview","request":{"uid":"0b5d4a4e-2f1c-4c3e-9d7a-5f0e8c2b1a90","name":"web-0",)"
      R"("object":{"metadata":{"name":"web-0","generateName":"web-"}}}})";
  auto copy0 = ml::vary_admission_review(review, 0), copy1 = ml::vary_admission_review(review, 0x1f);
  EXPECT(copy0 && copy1 && *copy0 != *copy1);
  EXPECT(ml::admission_request_uid(*copy1) == "0b5d4a4e-2f1c-4c3e-9d7a-00000000001f");
  EXPECT(copy1->find(R"("name":"web-0-00001f")") != std::string::npos);
  EXPECT(copy1->find(R"("metadata":{"name":"web-0-00001f","generateName":"web-"})") != std::string::npos);
  auto unnamed = ml::vary_admission_review(R"({"request":{"uid":"u-1","object":{"metadata":{"generateName":"web-"}}}})", 2);
  EXPECT(unnamed && ml::admission_request_uid(*unnamed) == "000000000002");
  EXPECT(unnamed && unnamed->find(R"("metadata":{"generateName":"web-"})") != std::string::npos);
  EXPECT(!ml::vary_admission_review(R"({"request":{"uid":7}})", 1));
  EXPECT(!ml::vary_admission_review("[]", 1));
  {
    // A wrong answer is an error and completes inside the window like any answer.
    std::vector<ml::sample> v{{0, 1000, static_cast<std::uint8_t>(ml::outcome::ok)},
                              {1000, 1000, static_cast<std::uint8_t>(ml::outcome::wrong_answer)}};
    const auto s = ml::summarize(v, 1'000'000'000);
    EXPECT(s.ok == 1 && s.wrong_answers == 1 && s.errors() == 1 && s.sorted_ok_ns.size() == 1);
  }

  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
