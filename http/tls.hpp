#pragma once
// Server TLS contexts: built on the control thread from PEM text, immutable once
// built, shared by the reactors through a shared_ptr (OpenSSL's SSL_CTX is safe to
// use from several threads for creating connections). A reload builds a new
// context; each reactor swaps its pointer on its own thread, new connections use
// the new one and open connections keep the one they started with (every SSL holds
// a reference to its SSL_CTX).
//
// Settings: TLS 1.2 and 1.3 only; for TLS 1.2 ECDHE key exchange with AEAD ciphers
// only; ALPN selects `http/1.1` when the client offers it and goes on without ALPN
// when it does not; stateless session tickets, no server-side session cache;
// renegotiation off. With a client CA, a client certificate is required and
// verified.

#include <openssl/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace meshinject::http {

// Why a certificate, key or CA could not be used; the message names the file.
class tls_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// PEM text and where it came from (for messages).
struct tls_material {
  std::string cert_chain_pem;  // leaf first, then intermediates
  std::string key_pem;
  std::string client_ca_pem;  // empty: no client certificates asked for
  std::string cert_name = "certificate";
  std::string key_name = "key";
  std::string client_ca_name = "client CA";
};

// What the serving (leaf) certificate says; for logs, /debug/config and metrics.
struct certificate_info {
  std::string subject;
  std::string serial_hex;  // upper-case hex, as `openssl x509 -serial` prints it
  std::string not_after;   // RFC 3339, UTC
  double not_after_unix = 0;
  std::string sans;  // "DNS:localhost, IP:127.0.0.1, ..."
};

class tls_context {
 public:
  // Throws tls_error: unreadable PEM, a key that does not match the certificate,
  // an unusable client CA.
  static std::shared_ptr<const tls_context> build(const tls_material& material);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  const certificate_info& certificate() const noexcept { return info_; }
  bool requires_client_certificate() const noexcept { return client_auth_; }

 private:
  tls_context() = default;
  SSL_CTX* ctx_ = nullptr;
  certificate_info info_;
  bool client_auth_ = false;
};

// A throw-away CA and a serving certificate it signed, both EC P-256, valid for a
// year (`valid_for`; negative: expired that long ago, for tests): the leaf is for
// `localhost`, 127.0.0.1 and ::1. Clients trust `ca_pem` (serve writes it to
// --self-signed-ca-out).
struct self_signed_material {
  std::string ca_pem;
  std::string cert_chain_pem;
  std::string key_pem;
};
self_signed_material make_self_signed(std::chrono::seconds valid_for = std::chrono::hours(365 * 24));

// Reads what the leaf certificate of a PEM chain says. Throws tls_error.
certificate_info describe_certificate(std::string_view cert_pem);

}  // namespace meshinject::http
