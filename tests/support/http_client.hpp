#pragma once
// A small, deliberately independent HTTP/1.1 client for the server tests: blocking
// sockets, OpenSSL directly (no Asio, no Beast), its own response parser. It can
// also send raw bytes, stop half-way through a request, and report what TLS
// negotiated (version, ALPN, the server certificate's serial).

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace meshinject::test {

struct http_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool connection_close() const;
};

struct client_options {
  bool tls = true;
  std::string ca_file;      // trust these; empty: do not verify
  std::string server_name = "localhost";
  std::string cert_file;    // client certificate (mTLS)
  std::string key_file;
  int min_version = 0;      // TLS1_2_VERSION etc.; 0: library default
  int max_version = 0;
  std::string cipher_list;  // e.g. "DEFAULT@SECLEVEL=0" to allow TLS 1.1 at all
  std::vector<std::string> alpn = {"http/1.1"};
  std::chrono::milliseconds timeout{10'000};  // per read / write
};

// Thrown for connection, handshake and I/O failures.
struct client_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class http_connection {
 public:
  // Connects to 127.0.0.1:port and, with TLS, completes the handshake.
  explicit http_connection(std::uint16_t port, client_options options = {});
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  // One request and its response. `headers` are sent as given (plus Host and
  // Content-Length for a body or a POST/PUT).
  http_response request(std::string_view method, std::string_view target, std::string_view body = {},
                        const std::vector<std::pair<std::string, std::string>>& headers = {
                            {"Content-Type", "application/json"}});

  void send_raw(std::string_view bytes);   // throws client_error
  bool try_send_raw(std::string_view bytes) noexcept;  // false when the peer closed or reset
  http_response read_response();           // throws client_error; skips 100 Continue
  http_response read_head();               // one status line and header block, no body
  // Whether a response (or anything) is readable within `wait`.
  bool readable(std::chrono::milliseconds wait);
  // True when the server closes the connection (EOF, or a reset) within `wait`.
  bool closed_by_peer(std::chrono::milliseconds wait);

  std::string tls_version() const;  // "TLSv1.3"
  std::string alpn() const;         // "" when none was negotiated
  std::string peer_serial() const;  // upper-case hex, "" without TLS
  int fd() const noexcept { return fd_; }

 private:
  void open(std::uint16_t port);
  void release() noexcept;
  http_response read_response_to(bool head_request);
  std::size_t read_some(char* p, std::size_t n);  // 0: EOF
  void write_all(std::string_view bytes);

  client_options options_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;  // read but not yet consumed
};

// One request on a fresh connection.
http_response fetch(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body = {},
                    client_options options = {});

// A plain TCP connection to 127.0.0.1:port, for traffic that never completes a
// TLS handshake. Returns the fd (caller closes) or -1.
int connect_tcp(std::uint16_t port);

}  // namespace meshinject::test
