#pragma once
#include <string_view>

namespace meshinject::core {

// Version of this build, reported by `meshinject version` and meshinject_build_info.
std::string_view build_version() noexcept;

}  // namespace meshinject::core
