// reloadable<T> on in-memory "files": load, validate, swap; the old value kept
// on failure; one failure per unreadable episode; the failing gauge derived from
// the state; the generation counter.
#include "control/reloadable.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <memory>
#include <string>
#include <vector>

namespace meshinject::control {
namespace {

// A value that builds from decimal text; anything else is a config error at 1:1.
struct number {
  int value = 0;
};

struct fake_files {
  std::string text = "1";
  bool readable = true;
  int builds = 0;
};

struct fixture {
  fake_files files;
  core::counter attempts, failures;
  core::gauge failing;
  std::vector<std::pair<int, bool>> installed;  // value, initial
  reloadable<number> value{hooks(), {&attempts, &failures, &failing}};

  reloadable<number>::hooks hooks() {
    reloadable<number>::hooks h;
    h.what = "number";
    h.read = [this] {
      if (!files.readable) throw read_error("n.txt", "cannot read n.txt: permission denied");
      return staged<number>{files.text, [this, text = files.text] {
                              ++files.builds;
                              int n = 0;
                              const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
                              if (r.ec != std::errc() || r.ptr != text.data() + text.size())
                                throw core::config_error({"n.txt", 1, 1}, "not a number: " + text);
                              return std::make_shared<const number>(number{n});
                            }};
    };
    h.installed = [this](const std::shared_ptr<const number>& n, bool initial) {
      installed.emplace_back(n->value, initial);
    };
    h.timestamp = [] { return std::string("2026-01-01T00:00:00.000Z"); };
    h.log_position = true;
    return h;
  }
};

TEST(Reloadable, LoadsSwapsAndCountsGenerations) {
  fixture f;
  f.value.load_initial();
  EXPECT_EQ(f.value->value, 1);
  EXPECT_EQ(f.value.generation(), 1u);
  EXPECT_EQ(f.attempts.value(), 0u) << "the initial load is not a reload";

  f.files.text = "2";
  EXPECT_EQ(f.value.reload(), reload_result::installed);
  EXPECT_EQ(f.value->value, 2);
  EXPECT_EQ(f.value.generation(), 2u);
  EXPECT_EQ(f.attempts.value(), 1u);
  EXPECT_EQ(f.failures.value(), 0u);
  EXPECT_EQ(f.failing.value(), 0);
  EXPECT_EQ(f.installed, (std::vector<std::pair<int, bool>>{{1, true}, {2, false}}));
}

TEST(Reloadable, UnchangedBytesAreNotBuiltAgain) {
  fixture f;
  f.value.load_initial();
  EXPECT_EQ(f.value.reload(), reload_result::unchanged);
  EXPECT_EQ(f.files.builds, 1);
  EXPECT_EQ(f.attempts.value(), 0u);
  EXPECT_EQ(f.value.generation(), 1u);
}

TEST(Reloadable, InvalidBytesKeepTheServingValueUntilValidOnesArrive) {
  fixture f;
  f.value.load_initial();
  const auto serving = f.value.current();
  f.files.text = "two";
  EXPECT_EQ(f.value.reload(), reload_result::failed);
  EXPECT_EQ(f.value.current(), serving);
  EXPECT_EQ(f.value.generation(), 1u);
  EXPECT_EQ(f.failures.value(), 1u);
  EXPECT_EQ(f.failing.value(), 1);
  ASSERT_TRUE(f.value.last_failure().has_value());
  EXPECT_EQ(f.value.last_failure()->message, "n.txt:1:1: not a number: two");
  EXPECT_EQ(f.value.last_failure()->at, "2026-01-01T00:00:00.000Z");

  // The same bad bytes again: nothing new to try, still failing.
  EXPECT_EQ(f.value.reload(), reload_result::unchanged);
  EXPECT_EQ(f.failures.value(), 1u);
  EXPECT_EQ(f.failing.value(), 1);

  // Back to the bytes that are serving: they differ from the last attempt, so
  // they are built and swapped in, and the failure clears.
  f.files.text = "1";
  EXPECT_EQ(f.value.reload(), reload_result::installed);
  EXPECT_EQ(f.value.generation(), 2u);
  EXPECT_EQ(f.failing.value(), 0);
}

TEST(Reloadable, AnUnreadableEpisodeIsOneFailureHoweverManyRetries) {
  fixture f;
  f.value.load_initial();
  f.files.readable = false;
  EXPECT_EQ(f.value.reload(), reload_result::unreadable);
  EXPECT_EQ(f.value.reload(), reload_result::unreadable);
  EXPECT_EQ(f.value.reload(), reload_result::unreadable);
  EXPECT_TRUE(f.value.unreadable());
  EXPECT_EQ(f.attempts.value(), 1u);
  EXPECT_EQ(f.failures.value(), 1u);
  EXPECT_EQ(f.failing.value(), 1);
  EXPECT_EQ(f.value->value, 1);

  // Readable again with the same bytes: nothing to build, and no longer failing.
  f.files.readable = true;
  EXPECT_EQ(f.value.reload(), reload_result::unchanged);
  EXPECT_FALSE(f.value.unreadable());
  EXPECT_EQ(f.failing.value(), 0);
  EXPECT_EQ(f.failures.value(), 1u);

  // A second episode counts again.
  f.files.readable = false;
  EXPECT_EQ(f.value.reload(), reload_result::unreadable);
  EXPECT_EQ(f.failures.value(), 2u);
}

TEST(Reloadable, FailingStaysWhileTheLastAttemptDidNotBuildEvenAfterAnUnreadableSpell) {
  fixture f;
  f.value.load_initial();
  f.files.text = "bad";
  EXPECT_EQ(f.value.reload(), reload_result::failed);
  f.files.readable = false;
  EXPECT_EQ(f.value.reload(), reload_result::unreadable);
  f.files.readable = true;
  EXPECT_EQ(f.value.reload(), reload_result::unchanged);
  EXPECT_EQ(f.failing.value(), 1) << "the bytes on disk still do not build";
}

TEST(Reloadable, InitialFailuresThrow) {
  fixture bad_bytes;
  bad_bytes.files.text = "x";
  EXPECT_THROW(bad_bytes.value.load_initial(), core::config_error);
  fixture unreadable;
  unreadable.files.readable = false;
  EXPECT_THROW(unreadable.value.load_initial(), read_error);
}

TEST(Reloadable, SetInitialNeedsNoFiles) {
  fixture f;
  f.files.readable = false;
  f.value.set_initial(std::make_shared<const number>(number{7}));
  EXPECT_EQ(f.value->value, 7);
  EXPECT_EQ(f.value.generation(), 1u);
}

}  // namespace
}  // namespace meshinject::control
