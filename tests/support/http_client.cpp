#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace meshinject::test {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Writing to a connection the server closed must be an error, not a signal.
[[maybe_unused]] const bool sigpipe_ignored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace

std::string http_response::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == want) return v;
  return "";
}

bool http_response::connection_close() const { return lower(header("connection")) == "close"; }

int connect_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

http_connection::http_connection(std::uint16_t port, client_options options) : options_(std::move(options)) {
  try {
    open(port);
  } catch (...) {
    release();  // the destructor does not run when the constructor throws
    throw;
  }
}

void http_connection::release() noexcept {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

void http_connection::open(std::uint16_t port) {
  fd_ = connect_tcp(port);
  if (fd_ < 0) throw client_error("connect to port " + std::to_string(port) + ": " + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<long>(options_.timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((options_.timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (!options_.tls) return;

  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw client_error("SSL_CTX_new: " + ssl_errors());
  if (!options_.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx_, options_.cipher_list.c_str());
  if (options_.min_version) SSL_CTX_set_min_proto_version(ctx_, options_.min_version);
  if (options_.max_version) SSL_CTX_set_max_proto_version(ctx_, options_.max_version);
  if (!options_.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, options_.ca_file.c_str(), nullptr) != 1)
      throw client_error("cannot load CA " + options_.ca_file + ": " + ssl_errors());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!options_.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options_.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw client_error("cannot load the client certificate: " + ssl_errors());
  }
  if (!options_.alpn.empty()) {
    std::string wire;
    for (const auto& p : options_.alpn) {
      wire += static_cast<char>(p.size());
      wire += p;
    }
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!options_.server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, options_.server_name.c_str());
    if (!options_.ca_file.empty()) SSL_set1_host(ssl_, options_.server_name.c_str());
  }
  if (SSL_connect(ssl_) != 1) {
    const std::string why = ssl_errors();
    throw client_error("TLS handshake failed: " + (why.empty() ? std::string(std::strerror(errno)) : why));
  }
}

http_connection::~http_connection() { release(); }

std::size_t http_connection::read_some(char* p, std::size_t n) {
  if (ssl_) {
    ERR_clear_error();
    const int r = SSL_read(ssl_, p, static_cast<int>(n));
    if (r > 0) return static_cast<std::size_t>(r);
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;
    throw client_error("TLS read failed: " + ssl_errors() + " (" + std::strerror(errno) + ")");
  }
  for (;;) {
    const ssize_t r = ::recv(fd_, p, n, 0);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    throw client_error(std::string("read failed: ") + std::strerror(errno));
  }
}

void http_connection::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    if (ssl_) {
      ERR_clear_error();
      const int r = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (r <= 0) throw client_error("TLS write failed: " + ssl_errors() + " (" + std::strerror(errno) + ")");
      bytes.remove_prefix(static_cast<std::size_t>(r));
    } else {
      const ssize_t r = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw client_error(std::string("write failed: ") + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<std::size_t>(r));
    }
  }
}

void http_connection::send_raw(std::string_view bytes) { write_all(bytes); }

bool http_connection::try_send_raw(std::string_view bytes) noexcept {
  try {
    write_all(bytes);
    return true;
  } catch (...) {
    return false;
  }
}

bool http_connection::readable(std::chrono::milliseconds wait) {
  if (!buffer_.empty() || (ssl_ && SSL_pending(ssl_) > 0)) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    // Raw read: TLS records (a close_notify, say) count as data and are skipped.
    const ssize_t r = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0) return true;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;  // reset
  }
}

http_response http_connection::read_response() { return read_response_to(false); }

http_response http_connection::read_response_to(bool head_request) {
  http_response out = read_head();
  if (out.status == 100) return read_response_to(head_request);  // interim
  // Body: Content-Length only (the server never chunks).
  const std::string length = out.header("content-length");
  const std::size_t want = length.empty() || head_request ? 0 : std::stoul(length);
  char chunk[16384];
  while (buffer_.size() < want) {
    const std::size_t n = read_some(chunk, sizeof chunk);
    if (n == 0) throw client_error("connection closed in the middle of a response body");
    buffer_.append(chunk, n);
  }
  out.body = buffer_.substr(0, want);
  buffer_.erase(0, want);
  return out;
}

http_response http_connection::read_head() {
  http_response out;
  // Header.
  std::size_t end;
  char chunk[16384];
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    const std::size_t n = read_some(chunk, sizeof chunk);
    if (n == 0) throw client_error("connection closed before a complete response header (got " +
                                   std::to_string(buffer_.size()) + " bytes)");
    buffer_.append(chunk, n);
  }
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
    throw client_error("bad status line: " + status_line);
  out.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t next = head.find("\r\n", line_end + 2);
    const std::string line = head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out.headers.emplace_back(line.substr(0, colon), value);
    }
    line_end = next;
  }
  return out;
}

http_response http_connection::request(std::string_view method, std::string_view target, std::string_view body,
                                       const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req;
  req.reserve(256 + body.size());
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req.append(k).append(": ").append(v).append("\r\n");
    if (lower(k) == "content-length" || lower(k) == "transfer-encoding") has_length = true;
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT"))
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  req.append("\r\n");
  req.append(body);
  write_all(req);
  return read_response_to(method == "HEAD");
}

std::string http_connection::tls_version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string http_connection::alpn() const {
  if (!ssl_) return "";
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string http_connection::peer_serial() const {
  if (!ssl_) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return "";
  std::string out;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      out = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  X509_free(cert);
  return out;
}

http_response fetch(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body,
                    client_options options) {
  http_connection c(port, std::move(options));
  return c.request(method, target, body);
}

}  // namespace meshinject::test
