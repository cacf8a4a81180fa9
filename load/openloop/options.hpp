#pragma once
// Command line of the open-loop client: what to send, where, how fast and for how long.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshinject::load {

struct target_url {
  std::string host;  // as in the URL, without brackets for IPv6
  std::string port;  // "443" when the URL names none
  std::string path;  // "/" when the URL names none, with any query
};

struct options {
  target_url url;
  std::string url_text;
  double rate = 1000;  // requests per second, over all threads
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::chrono::nanoseconds warmup = std::chrono::seconds(2);
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);  // per request, and the final drain
  // A keep-alive connection idle longer is closed and opened again before it is used,
  // as the apiserver's webhook client drops connections idle for 90 s: so a server
  // whose idle timeout is longer never closes one under a request being sent.
  std::chrono::nanoseconds max_idle = std::chrono::seconds(90);
  unsigned connections = 64;
  unsigned threads = 1;
  std::vector<std::string> body_files;  // rotated in order, request k sends body k % n
  // Copies of each body with their own request.uid and pod name (AdmissionReviews only),
  // sent in turn; 1 sends the files as they are.
  unsigned vary = 1;
  std::vector<std::string> headers;     // extra "Name: value" lines
  std::string content_type = "application/json";
  bool insecure = false;
  bool check_admission = false;  // a 2xx answer counts as ok only with the right uid and a patch
  std::string ca_file;
  std::string out_csv;       // raw samples of the measured window
  std::string spectrum_out;  // latency by percentile, for plotting
  std::string label;         // copied into the JSON line
};

/// Parses a duration such as "10s", "250ms", "1m30s", "2" (seconds). nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses https://host[:port][/path]; nullopt when it is not such a URL.
std::optional<target_url> parse_url(std::string_view text);

/// Parses argv. Throws std::invalid_argument with a message for the user on a bad command line;
/// prints the usage and exits on --help.
options parse_options(int argc, char** argv);

}  // namespace meshinject::load
