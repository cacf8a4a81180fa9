#pragma once
// The request-head parser a connection reads with, apart from the sockets so the
// fuzzer (fuzz/http_head_fuzz.cpp) drives exactly what connections run: Beast's
// parser plus the framing rules of nginx and Go's net/http (docs/operations.md,
// "HTTP framing"), and `read_head_step`, the step a connection takes each time
// bytes of a head arrive.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/routes.hpp"

namespace meshinject::http {

namespace head_detail {
namespace bhttp = boost::beast::http;
using error_code = boost::system::error_code;
using bsv = boost::beast::string_view;
}  // namespace head_detail

// Parses a request line and header fields into offsets and flags; a chunked body
// into `chunk_sink`. Constructing one allocates nothing: connections emplace a new
// one for every request.
class head_parser final : public boost::beast::http::basic_parser<true> {
  using bsv = head_detail::bsv;
  using error_code = head_detail::error_code;
 public:
  struct span {
    std::uint32_t offset = 0, length = 0;
  };

  head_parser(std::string* chunk_sink, std::size_t body_limit) : chunk_sink_(chunk_sink), body_limit_(body_limit) {}

  // The start of the buffer the next put() reads; offsets are relative to it.
  void set_base(const char* base) noexcept { base_ = base; }

  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  span method_text, target;
  int version = 11;
  bool json = false;
  bool expect_continue = false;
  // Set (with an error from put()) when Beast would read the body but nginx or
  // Go's net/http would not: 400, or 501 for a transfer coding other than chunked.
  unsigned framing_refusal = 0;

 private:
  span span_of(bsv v) const noexcept {
    return {static_cast<std::uint32_t>(v.data() - base_), static_cast<std::uint32_t>(v.size())};
  }

  void on_request_impl(boost::beast::http::verb m, bsv m_text, bsv t, int v, error_code&) override {
    method = m;
    method_text = span_of(m_text);
    target = span_of(t);
    version = v;
  }
  void on_response_impl(int, bsv, int, error_code& ec) override { ec = boost::beast::http::error::bad_method; }
  void on_field_impl(boost::beast::http::field f, bsv, bsv value, error_code&) override {
    if (f == boost::beast::http::field::content_length) {
      ++content_lengths_;
      // Beast also takes "5, 5" (a list of equal values); nginx and Go take digits only.
      content_length_digits_ = content_length_digits_ && is_decimal(trim_ows(value));
    } else if (f == boost::beast::http::field::transfer_encoding) {
      ++transfer_encodings_;
      transfer_coding_chunked_ = iequals_ascii(trim_ows(value), "chunked");
    } else if (f == boost::beast::http::field::content_type) {
      json = is_json_content_type(std::string_view(value.data(), value.size()));
    } else if (f == boost::beast::http::field::expect) {
      std::size_t b = 0, e = value.size();
      while (b < e && (value[b] == ' ' || value[b] == '\t')) ++b;
      while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t')) --e;
      const bsv v = value.substr(b, e - b);
      expect_continue = v.size() == 12 && (v[0] == '1') && std::equal(v.begin(), v.end(), "100-continue",
                                                                      [](char a, char c) {
                                                                        return (a | 0x20) == (c | 0x20);
                                                                      });
    }
  }
  // The body's framing, decided as nginx does (Go's net/http is laxer in places;
  // docs/operations.md, "HTTP framing", lists them): anything two servers could
  // delimit as two different bodies is refused before a byte of the body is read.
  void on_header_impl(error_code& ec) override {
    if (content_lengths_ > 1 || !content_length_digits_) framing_refusal = 400;
    else if (transfer_encodings_ > 0 && (content_lengths_ > 0 || transfer_encodings_ > 1 || version < 11))
      framing_refusal = 400;
    else if (transfer_encodings_ > 0 && !transfer_coding_chunked_) framing_refusal = 501;
    if (framing_refusal != 0) ec = boost::beast::http::error::bad_transfer_encoding;
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(bsv body, error_code&) override { return body.size(); }
  // A chunk that announces more than the limit is refused before it is read.
  void on_chunk_header_impl(std::uint64_t size, bsv, error_code& ec) override {
    if (size > body_limit_ - std::min(body_limit_, chunk_sink_->size())) ec = boost::beast::http::error::body_limit;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, bsv body, error_code& ec) override {
    if (chunk_sink_->size() + body.size() > body_limit_) {
      ec = boost::beast::http::error::body_limit;
      return 0;
    }
    chunk_sink_->append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  static bsv trim_ows(bsv v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  }
  static bool is_decimal(bsv v) noexcept {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  static bool iequals_ascii(bsv v, std::string_view lower) noexcept {
    return v.size() == lower.size() &&
           std::equal(v.begin(), v.end(), lower.begin(), [](char a, char b) { return (a | 0x20) == b; });
  }

  const char* base_ = nullptr;
  std::string* chunk_sink_;
  std::size_t body_limit_;
  unsigned content_lengths_ = 0, transfer_encodings_ = 0;
  bool content_length_digits_ = true;
  bool transfer_coding_chunked_ = false;
};

// Feeds `p` the bytes of a request head received so far (`head`, from the
// request's first byte) that it has not consumed yet (`consumed` counts those it
// did; Beast may consume the request line before the rest arrives, and those
// bytes must not be fed again). The limit applies to what is left of
// `max_header`. `ec` is need_more until the head is complete; a complete head
// then passes the byte check (`is_clean_request_head`).
inline void read_head_step(head_parser& p, std::string_view head, std::size_t& consumed, std::size_t max_header,
                           head_detail::error_code& ec) {
  namespace bhttp = boost::beast::http;
  p.set_base(head.data());
  const std::size_t left = consumed < max_header ? max_header - consumed : 1;
  p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(left, UINT32_MAX)));
  consumed += p.put(boost::asio::const_buffer(head.data() + consumed, head.size() - consumed), ec);
  // Beast checks its limit against what it has seen when the head's end is not
  // there yet, so a head a few bytes over the limit passed when it arrived in
  // pieces and was refused when it arrived whole; the head's own length decides.
  if (!ec && p.is_header_done() && consumed > max_header) ec = bhttp::error::header_limit;
  // With the request line consumed, Beast says need_more for a field section
  // longer than its limit even when all of it is there: a connection whose buffer
  // had room for the whole head (one grown by an earlier request) then waited for
  // bytes that would never come instead of answering 431. max_header bytes without
  // the head's end cannot become a head within the limit.
  if (ec == bhttp::error::need_more && head.size() >= max_header) ec = bhttp::error::header_limit;
  if (!ec && !is_clean_request_head(head.substr(0, consumed))) ec = bhttp::error::bad_value;
}

// The status a refused head is answered with: 501 or 400 for its framing, 431
// past the header limit, else 400.
inline unsigned head_refusal_status(const head_parser& p, const head_detail::error_code& ec) noexcept {
  if (p.framing_refusal != 0) return p.framing_refusal;
  return ec == boost::beast::http::error::header_limit ? 431 : 400;
}

}  // namespace meshinject::http
