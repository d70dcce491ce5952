// Precompiled for every test source (meson cpp_pch): Catch2's single header and the abseil and
// standard headers most tests include. Parsing these once per target instead of once per file
// is most of the test build's time, three flavours over.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
