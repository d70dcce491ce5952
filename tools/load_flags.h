// The load engine's flags (protocol, target, open loop, sources, ...) for any command that
// drives a server with RunEchoLoad: `percore bench` calls AddLoadFlags once.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/load_client.h"

namespace percore::tools {

// Adds --protocol, --target, --command, --keyspace, --path, --header, --expect-status, --rate,
// --connect-rate, --source-ips, --client-threads and the older --spread and --frame-header,
// each writing into `opt` (whose current values are the defaults --help shows).
void AddLoadFlags(CLI::App& app, LoadOptions& opt);

// "host:port", "[v6]:port" or a Unix socket path (anything with a '/'): sets opt's host and
// port, or unix_path. Returns an error message, empty if it parsed.
std::string ParseTarget(const std::string& target, LoadOptions& opt);

}  // namespace percore::tools
