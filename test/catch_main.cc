// The Catch2 main, in its own static library so it compiles once (15-30 s here).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
