// `amtsweg migrate`: moves the open cases of one workflow version to another by a migration
// mapping (docs/cli.md, docs/workflow-language.md "Migration of running cases"). Each case gets
// one engine command, committed through a core::Engine on the store like any input (case.migrated
// in its history; a refusal is a dead letter); --dry-run shows what each case would record and
// changes nothing. Every use is recorded in the access log. Exit codes: 0 done (refusals are
// counted, not failures), 1 bad arguments, an invalid mapping or a case that cannot be migrated
// (nothing changed), 3 store or I/O error.
#pragma once

#include <string>

namespace amtsweg::cli {

struct MigrateArgs {
  std::string workflow;
  int from = 0;
  int to = 0;
  std::string map;  // the mapping file (YAML)
  bool dry_run = false;
  std::string case_id;  // only this case; empty: every open case of workflow/from
  std::string reason;
  std::string data_dir;
  std::string workflows;  // directory of definitions, besides the deployed ones
  std::string directory;  // participant directory
  bool json = false;      // --dry-run: JSON lines instead of text
};
int Migrate(const MigrateArgs& args);

// `amtsweg validate --migration FILE --workflows DIR`: checks a mapping against the definitions
// in DIR; prints "FILE: ok (...)" or each error as "file:line:column: message". 0 or 1.
int ValidateMigrationFile(const std::string& file, const std::string& workflows, bool json = false);

}  // namespace amtsweg::cli
