#include "http/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <vector>

namespace meshinject::http {
namespace {

template <typename T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, openssl_deleter<SSL_CTX, SSL_CTX_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// Drains OpenSSL's error queue of this thread into one line.
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] void fail(const std::string& what) { throw tls_error(what + ": " + openssl_errors()); }

bio_ptr memory_bio(std::string_view text) {
  bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) fail("BIO_new_mem_buf");
  return b;
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Reads every certificate of a PEM text; the first is the leaf.
std::vector<x509_ptr> read_certificates(std::string_view pem, const std::string& name) {
  std::vector<x509_ptr> out;
  bio_ptr b = memory_bio(pem);
  ERR_clear_error();
  while (X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  // The loop ends with "no start line" at the end of the text: expected.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE && !out.empty()) {
    ERR_clear_error();
  } else if (last != 0) {
    throw tls_error(name + ": cannot read PEM certificates: " + openssl_errors());
  }
  if (out.empty()) throw tls_error(name + ": no PEM certificate found");
  return out;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned int in_len,
                void*) {
  static constexpr unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, http11, sizeof http11, in, in_len) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // no http/1.1 offered: go on without ALPN
}

std::string format_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

certificate_info describe(X509* x) {
  certificate_info info;
  {
    bio_ptr b(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(b.get(), X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    info.subject = bio_text(b.get());
  }
  if (bn_ptr serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)}) {
    if (char* hex = BN_bn2hex(serial.get())) {
      info.serial_hex = hex;
      OPENSSL_free(hex);
    }
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
    const std::time_t t = timegm(&tm);
    info.not_after_unix = static_cast<double>(t);
    info.not_after = format_time(t);
  }
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      std::string item;
      if (n->type == GEN_DNS) {
        item = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                    static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName)));
      } else if (n->type == GEN_IPADD) {
        char buf[INET6_ADDRSTRLEN] = {};
        const int len = ASN1_STRING_length(n->d.iPAddress);
        const unsigned char* p = ASN1_STRING_get0_data(n->d.iPAddress);
        if (len == 4) inet_ntop(AF_INET, p, buf, sizeof buf);
        else if (len == 16) inet_ntop(AF_INET6, p, buf, sizeof buf);
        item = std::string("IP:") + buf;
      } else {
        continue;
      }
      if (!info.sans.empty()) info.sans += ", ";
      info.sans += item;
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail(std::string("certificate extension ") + value);
}

x509_ptr new_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, long valid_seconds) {
  x509_ptr x(X509_new());
  if (!x) fail("X509_new");
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes");
  serial[0] &= 0x7f;  // positive
  bn_ptr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get()))) fail("serial number");
  // An hour back tolerates clock skew; a certificate that has already expired
  // (negative validity, for tests) starts as long before that.
  X509_gmtime_adj(X509_getm_notBefore(x.get()), std::min(-3600L, 2 * valid_seconds - 3600));
  X509_gmtime_adj(X509_getm_notAfter(x.get()), valid_seconds);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("meshinject"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  return x;
}

std::string pem_of(X509* x) {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), x) != 1) fail("PEM_write_bio_X509");
  return bio_text(b.get());
}

}  // namespace

tls_context::~tls_context() {
  if (ctx_) SSL_CTX_free(ctx_);
}

std::shared_ptr<const tls_context> tls_context::build(const tls_material& m) {
  ERR_clear_error();
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) fail("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_IGNORE_UNEXPECTED_EOF);
  // TLS 1.2: ECDHE with AEAD only. TLS 1.3 suites are all AEAD.
  if (SSL_CTX_set_cipher_list(c,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1)
    fail("cipher list");
  if (SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1)
    fail("TLS 1.3 cipher suites");
  if (SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) fail("key exchange groups");
  // Resumption through stateless tickets only: no server-side cache to lock.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  static constexpr unsigned char session_context[] = "meshinject";
  SSL_CTX_set_session_id_context(c, session_context, sizeof session_context - 1);
  // One recv per burst of records instead of one per record header and body.
  SSL_CTX_set_read_ahead(c, 1);
  // Partial writes let a large response go out record by record; the buffer may
  // move between retries (the session's buffer can grow). Buffers are kept across
  // requests (no SSL_MODE_RELEASE_BUFFERS) so a warm connection allocates nothing.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);

  auto chain = read_certificates(m.cert_chain_pem, m.cert_name);
  // Every client would refuse an expired certificate: serving it fails every
  // request, while refusing it keeps the pair that still works (on reload).
  if (X509_cmp_current_time(X509_get0_notAfter(chain.front().get())) <= 0) {
    ERR_clear_error();
    throw tls_error(m.cert_name + ": the certificate has expired (not after " +
                    describe_certificate(m.cert_chain_pem).not_after + ")");
  }
  if (SSL_CTX_use_certificate(c, chain.front().get()) != 1)
    throw tls_error(m.cert_name + ": unusable certificate: " + openssl_errors());
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add0_chain_cert(c, chain[i].get()) != 1)
      throw tls_error(m.cert_name + ": unusable intermediate certificate: " + openssl_errors());
    (void)chain[i].release();  // owned by the context now
  }
  {
    bio_ptr b = memory_bio(m.key_pem);
    pkey_ptr key(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    if (!key) throw tls_error(m.key_name + ": cannot read a PEM private key: " + openssl_errors());
    if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
      ERR_clear_error();
      throw tls_error(m.key_name + " does not match the certificate in " + m.cert_name);
    }
    if (SSL_CTX_use_PrivateKey(c, key.get()) != 1)
      throw tls_error(m.key_name + ": unusable private key: " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(c) != 1)
    throw tls_error(m.key_name + " does not match the certificate in " + m.cert_name + ": " + openssl_errors());

  std::shared_ptr<tls_context> out(new tls_context());
  if (!m.client_ca_pem.empty()) {
    auto cas = read_certificates(m.client_ca_pem, m.client_ca_name);
    X509_STORE* store = SSL_CTX_get_cert_store(c);
    for (auto& ca : cas) {
      if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(c, ca.get()) != 1)
        throw tls_error(m.client_ca_name + ": unusable CA certificate: " + openssl_errors());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    out->client_auth_ = true;
  }
  out->info_ = describe(chain.front().get());
  out->ctx_ = ctx.release();
  ERR_clear_error();
  return out;
}

certificate_info describe_certificate(std::string_view cert_pem) {
  auto chain = read_certificates(cert_pem, "certificate");
  return describe(chain.front().get());
}

self_signed_material make_self_signed(std::chrono::seconds valid_for) {
  const long valid_seconds = static_cast<long>(valid_for.count());
  ERR_clear_error();
  pkey_ptr ca_key(EVP_EC_gen("P-256"));
  pkey_ptr leaf_key(EVP_EC_gen("P-256"));
  if (!ca_key || !leaf_key) fail("EC P-256 key generation");

  x509_ptr ca = new_certificate(ca_key.get(), "meshinject self-signed CA", nullptr, valid_seconds);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) <= 0) fail("signing the CA certificate");

  x509_ptr leaf = new_certificate(leaf_key.get(), "localhost", ca.get(), valid_seconds);
  add_extension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(leaf.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) <= 0) fail("signing the serving certificate");

  self_signed_material out;
  out.ca_pem = pem_of(ca.get());
  out.cert_chain_pem = pem_of(leaf.get());
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("PEM_write_bio_PrivateKey");
  out.key_pem = bio_text(b.get());
  return out;
}

}  // namespace meshinject::http
