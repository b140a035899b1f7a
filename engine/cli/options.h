// Where the command line's options can come from besides the command line: an environment
// variable per option and one configuration file (TOML), with one precedence for all of them
// (docs/cli.md, "Environment and configuration file"). Internal to the cli.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace amtsweg::cli {

// Walks every option of `app` and of all its subcommands, at any depth, and gives each:
// - an environment variable: AMTSWEG_<COMMAND>_<OPTION> (e.g. AMTSWEG_RUN_BOOTSTRAP,
//   AMTSWEG_CASE_LIST_STATE), else the shared AMTSWEG_<OPTION> (AMTSWEG_DATA_DIR for the
//   --data-dir of every command); an empty variable counts as unset;
// - a key in the configuration file of `--config FILE` (or env AMTSWEG_CONFIG): the long option
//   name without dashes, in the table of its command (`[run]`, `[case.list]`; top level for the
//   options before the command). Unknown keys and tables are errors;
// - for integer options, a check that the value is a decimal integer (CLI11 alone also takes
//   octal `010`, hex `0x10` and leading blanks).
// Precedence: command line, then environment, then configuration file, then the default.
// Positional arguments, --help, --version and hidden options are left out. Call once, after
// every subcommand and option is defined and before app.parse().
void AddConfigurationSources(CLI::App& app);

// The error for a command word in `argv` that names no subcommand where one is expected
// ("amtsweg case: unknown command 'frob'; the commands are: list, show, history, erase"), or
// nullopt. Options (and their values) before the word are passed over. CLI11 itself only says
// that a subcommand is required.
std::optional<std::string> UnknownCommand(const CLI::App& app, int argc, const char* const* argv);

}  // namespace amtsweg::cli
