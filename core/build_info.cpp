#include "core/build_info.hpp"

namespace meshinject::core {

std::string_view build_version() noexcept { return "0.1.0"; }

}  // namespace meshinject::core
