#include "http/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>

namespace meshinject::http {
namespace {

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(Tls, SelfSignedCertificateForLocalhost) {
  const self_signed_material m = make_self_signed();
  EXPECT_NE(m.ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(m.key_pem.find("PRIVATE KEY"), std::string::npos);
  const certificate_info info = describe_certificate(m.cert_chain_pem);
  EXPECT_EQ(info.sans, "DNS:localhost, IP:127.0.0.1, IP:::1");
  EXPECT_NE(info.subject.find("CN=localhost"), std::string::npos);
  EXPECT_NEAR(info.not_after_unix, now_unix() + 365.0 * 86400, 2 * 86400);
  EXPECT_FALSE(info.serial_hex.empty());
  EXPECT_NE(describe_certificate(make_self_signed().cert_chain_pem).serial_hex, info.serial_hex);

  tls_material t;
  t.cert_chain_pem = m.cert_chain_pem;
  t.key_pem = m.key_pem;
  const auto ctx = tls_context::build(t);
  ASSERT_NE(ctx->native(), nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->native()), TLS1_3_VERSION);
  EXPECT_FALSE(ctx->requires_client_certificate());
  EXPECT_EQ(ctx->certificate().serial_hex, info.serial_hex);
}

TEST(Tls, KeyOfAnotherCertificateIsRefused) {
  const self_signed_material a = make_self_signed(), b = make_self_signed();
  tls_material t;
  t.cert_chain_pem = a.cert_chain_pem;
  t.key_pem = b.key_pem;
  t.cert_name = "tls.crt";
  t.key_name = "tls.key";
  try {
    tls_context::build(t);
    FAIL() << "a mismatched key was accepted";
  } catch (const tls_error& e) {
    EXPECT_NE(std::string(e.what()).find("tls.key does not match the certificate in tls.crt"), std::string::npos)
        << e.what();
  }
}

TEST(Tls, AnExpiredCertificateIsRefusedWithItsDate) {
  const self_signed_material expired = make_self_signed(-std::chrono::hours(24));
  EXPECT_LT(describe_certificate(expired.cert_chain_pem).not_after_unix, now_unix());
  tls_material t;
  t.cert_chain_pem = expired.cert_chain_pem;
  t.key_pem = expired.key_pem;
  t.cert_name = "tls.crt";
  t.key_name = "tls.key";
  try {
    tls_context::build(t);
    FAIL() << "an expired certificate was accepted";
  } catch (const tls_error& e) {
    EXPECT_NE(std::string(e.what()).find("tls.crt: the certificate has expired (not after "), std::string::npos)
        << e.what();
  }
  // The same pair a day from expiring is fine: the refusal is the date's.
  const self_signed_material fresh = make_self_signed(std::chrono::hours(24));
  t.cert_chain_pem = fresh.cert_chain_pem;
  t.key_pem = fresh.key_pem;
  EXPECT_NE(tls_context::build(t)->native(), nullptr);
}

TEST(Tls, NoCompressionNoRenegotiationTls12AndUp) {
  const self_signed_material m = make_self_signed();
  tls_material t;
  t.cert_chain_pem = m.cert_chain_pem;
  t.key_pem = m.key_pem;
  const auto ctx = tls_context::build(t);
  const std::uint64_t options = SSL_CTX_get_options(ctx->native());
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native()), TLS1_2_VERSION);
}

TEST(Tls, UnreadableInputNamesTheFile) {
  const self_signed_material a = make_self_signed();
  tls_material t;
  t.cert_chain_pem = "garbage";
  t.key_pem = a.key_pem;
  t.cert_name = "/etc/tls/tls.crt";
  try {
    tls_context::build(t);
    FAIL();
  } catch (const tls_error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/tls/tls.crt"), std::string::npos) << e.what();
  }
  t.cert_chain_pem = a.cert_chain_pem;
  t.key_pem = "garbage";
  t.key_name = "/etc/tls/tls.key";
  EXPECT_THROW(tls_context::build(t), tls_error);
  t.key_pem = a.key_pem;
  t.client_ca_pem = "garbage";
  EXPECT_THROW(tls_context::build(t), tls_error);
}

TEST(Tls, ClientCaRequiresClientCertificates) {
  const self_signed_material a = make_self_signed();
  tls_material t;
  t.cert_chain_pem = a.cert_chain_pem + a.ca_pem;  // a chain with an intermediate is fine
  t.key_pem = a.key_pem;
  t.client_ca_pem = a.ca_pem;
  const auto ctx = tls_context::build(t);
  EXPECT_TRUE(ctx->requires_client_certificate());
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

}  // namespace
}  // namespace meshinject::http
