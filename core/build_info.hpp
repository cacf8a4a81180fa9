#pragma once
#include <string_view>

namespace meshinject::core {

// The identity of this build, reported by `meshinject version` and the
// meshinject_build_info metric. Written at build time (cmake/write-build-info.cmake):
// the commit comes from git in a checkout, from the MESHINJECT_COMMIT build argument
// in an image build, or is "unknown".
std::string_view build_version() noexcept;
std::string_view build_commit() noexcept;       // 12 hex digits, "-dirty" when the work tree differed
std::string_view build_commit_time() noexcept;  // the commit's time, RFC 3339

}  // namespace meshinject::core
