// The request path answers every input with values, never with an exception: the
// server runs in this process with one reactor, `__cxa_allocate_exception` (where
// every C++ throw starts) is interposed, and throws on the reactor thread are
// counted while a client sends good and bad requests, once all are warm.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/in_process_server.hpp"
#include "tests/support/support.hpp"

namespace {

std::atomic<std::uint64_t> reactor_throws{0};
std::atomic<std::uint64_t> other_throws{0};
std::atomic<bool> counting{false};

bool on_reactor_thread() noexcept {
  char name[16] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return false;
  return std::strncmp(name, "mi-reactor-", 11) == 0;
}

using allocate_exception_fn = void* (*)(std::size_t) noexcept;

allocate_exception_fn real_allocate_exception() noexcept {
  static const auto real = reinterpret_cast<allocate_exception_fn>(::dlsym(RTLD_NEXT, "__cxa_allocate_exception"));
  return real;
}

}  // namespace

// Every `throw` calls this first; the C++ runtime's own definition does the work.
extern "C" void* __cxa_allocate_exception(std::size_t size) noexcept {
  if (counting.load(std::memory_order_relaxed)) {
    if (on_reactor_thread())
      reactor_throws.fetch_add(1, std::memory_order_relaxed);
    else
      other_throws.fetch_add(1, std::memory_order_relaxed);
  }
  return real_allocate_exception()(size);
}

namespace meshinject::test {
namespace {

// A request and the status it must get; `fresh` ones close their connection, so
// each is sent on a connection of its own.
struct exchange {
  std::string what;
  std::function<http_response(http_connection&)> send;
  int status;
  bool fresh = false;
};

std::string review(const char* name) { return read_file(source_dir() / "load" / "reviews" / (std::string(name) + ".json")); }

TEST(Exceptions, NoThrowOnTheReactorForGoodOrBadRequestsOnceWarm) {
  ASSERT_NE(real_allocate_exception(), nullptr);
  in_process_server server([](server_lib::server_options& o) { o.lim.max_body_bytes = 64 * 1024; });
  const std::string json = "application/json";
  const std::vector<exchange> exchanges = {
      {"injected pod", [&](http_connection& c) { return c.request("POST", "/inject", review("orders-pod")); }, 200},
      {"injected pod with path parameters",
       [&](http_connection& c) { return c.request("POST", "/inject/cluster/c1/net/n1", review("many-env-pod")); }, 200},
      {"opt-out pod", [&](http_connection& c) { return c.request("POST", "/inject", review("opt-out-pod")); }, 200},
      {"not a pod", [&](http_connection& c) { return c.request("POST", "/inject", review("service-create")); }, 200},
      {"a delete", [&](http_connection& c) { return c.request("POST", "/inject", review("pod-delete")); }, 200},
      {"health", [&](http_connection& c) { return c.request("GET", "/health", {}, {}); }, 200},
      {"bad JSON", [&](http_connection& c) { return c.request("POST", "/inject", "{\"kind\": [1, 2"); }, 400},
      {"JSON that is no AdmissionReview",
       [&](http_connection& c) { return c.request("POST", "/inject", "{\"kind\":\"Pod\",\"apiVersion\":7}"); }, 400},
      {"empty body", [&](http_connection& c) { return c.request("POST", "/inject", ""); }, 400},
      {"wrong content type",
       [&](http_connection& c) {
         return c.request("POST", "/inject", review("orders-pod"), {{"Content-Type", "text/plain"}});
       },
       415},
      {"unknown path", [&](http_connection& c) { return c.request("GET", "/nope", {}, {}); }, 404},
      {"wrong method", [&](http_connection& c) { return c.request("GET", "/inject", {}, {}); }, 405},
      {"bad path escape", [&](http_connection& c) { return c.request("POST", "/inject/cluster/%zz", review("orders-pod")); },
       400},
      {"oversized body",
       [&](http_connection& c) {
         c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: " + json + "\r\nContent-Length: 1000000\r\n\r\n");
         return c.read_response();
       },
       413, true},
      {"malformed request line",
       [&](http_connection& c) {
         c.send_raw("POST /inject HTTP/9\r\n\r\n");
         return c.read_response();
       },
       400, true},
  };

  http_connection kept(server.port());
  auto round = [&] {
    for (const exchange& e : exchanges) {
      http_response r;
      if (e.fresh) {
        http_connection own(server.port());
        r = e.send(own);
      } else {
        r = e.send(kept);
      }
      ASSERT_EQ(r.status, e.status) << e.what << ": " << r.body;
    }
  };
  for (int i = 0; i < 20; ++i) round();  // variants compiled, buffers grown
  if (HasFatalFailure()) return;
  reactor_throws = 0;
  other_throws = 0;
  counting = true;
  for (int i = 0; i < 100; ++i) round();
  counting = false;
  EXPECT_EQ(reactor_throws.load(), 0u) << "exceptions thrown on the reactor thread over 100 rounds of "
                                       << exchanges.size() << " requests";
}

// The interposition itself works: a throw on this thread is seen.
TEST(Exceptions, TheCounterSeesAThrow) {
  other_throws = 0;
  counting = true;
  try {
    throw std::runtime_error("counted");
  } catch (const std::exception&) {
  }
  counting = false;
  EXPECT_EQ(other_throws.load(), 1u);
}

}  // namespace
}  // namespace meshinject::test
