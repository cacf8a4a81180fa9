#include "http/limits.hpp"
