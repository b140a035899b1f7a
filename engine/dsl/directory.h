// The participant directory: which organisation is responsible for what, where.
//
// Loaded from YAML (see docs/workflow-language.md, "Participant directory"). Each organisation
// has an id, a kind (state, municipal, chamber, federal), a name, the functions it performs
// ("gewerbeamt", "bauaufsicht", "ihk", "hwk", ...), the area it covers as AGS prefixes (empty =
// everywhere) and how it receives events (Kafka topic, or a webhook URL with a reference to its
// signing secret; see docs/webhooks.md). It may name municipalities by their AGS, for readers.
// Immutable after loading; thread-safe for reads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/calendar/holidays.h"
#include "engine/common/status.h"

namespace amtsweg::dsl {

namespace internal {
class Errors;
class MapReader;
}  // namespace internal

struct Organisation {
  std::string id;
  std::string kind;  // state | municipal | chamber | federal | portal
  std::string name;
  std::vector<std::string> functions;
  std::vector<std::string> area;  // AGS prefixes; empty covers every key
  // AGS of the municipality of its seat: the public holidays there decide the end of the
  // legal periods it runs (§31 Abs. 3 VwVfG). Empty: the Land of its area.
  std::string seat;
  // Public holidays that hold only in parts of a Land and do at its seat (engine/calendar ids,
  // e.g. "mariae_himmelfahrt").
  std::vector<std::string> local_holidays;
  // The public holidays at its seat: the Land of `seat`, or of `area` when that lies in one
  // Land, with `local_holidays`. Set for every organisation but portals (the loader refuses one
  // whose Land it cannot tell).
  std::optional<calendar::HolidayCalendar> holidays;
  // Portals (online services that submit applications): the CloudEvents `source` values of
  // their submissions. The applicant of a case is reached through the portal it came from.
  std::vector<std::string> sources;
  std::string topic;    // Kafka topic for its projected events (may be empty)
  std::string webhook;  // webhook URL (may be empty)
  // Where the webhook's signing secret comes from (exactly one is set when `webhook` is): the
  // name of an environment variable, or a file path (relative paths are relative to the
  // directory file). The secret itself never is in the directory file.
  std::string webhook_secret_env;
  std::string webhook_secret_file;
};

class Directory {
 public:
  // Loads and checks a directory file (Load) or text (Parse, `name` in messages); errors are
  // InvalidArgument "file:line:column: message", one per line, IOError when the file cannot be
  // read. YAML parsing: defined in the loader target, amtsweg::dsl_loader (directory_loader.cc);
  // a caller links that, the rest of Directory needs only amtsweg::dsl.
  static Result<std::unique_ptr<Directory>> Load(const std::string& path);
  static Result<std::unique_ptr<Directory>> Parse(std::string_view yaml, const std::string& name);

  const Organisation* Find(std::string_view id) const;
  // The organisation performing `function` whose area has the longest prefix of `ags`
  // (ties: the smaller id). nullptr when none covers it.
  const Organisation* Responsible(std::string_view function, std::string_view ags) const;
  const std::vector<Organisation>& organisations() const { return orgs_; }
  bool HasFunction(std::string_view function) const;
  // The portal whose `sources` list `source`, or nullptr.
  const Organisation* PortalForSource(std::string_view source) const;
  // The organisation inputs from CloudEvents `source` speak for: the portal whose `sources` list
  // it, or the organisation the directory's `sources` mapping names for it (no source speaks for
  // two); nullptr when none.
  const Organisation* OrganisationForSource(std::string_view source) const;
  // `participants_must_be_bound: true`: an input claiming a participant must come through a
  // channel bound to an organisation or from a source the directory maps to one
  // ("unbound-participant" otherwise). Default false: an unproven claim is taken as it is.
  bool participants_must_be_bound() const { return participants_must_be_bound_; }
  // The portals (ids) the directory's `submitters` allow to open cases of `workflow` (by name):
  // nullptr when it names none for the workflow, which may then be opened from any source.
  const std::vector<std::string>* SubmittersOf(std::string_view workflow) const;
  // The name of the municipality with this AGS (`municipalities:`, e.g. "Kiel" for "01002000"),
  // or nullptr when the directory names none. For readers (the public status page); no
  // responsibility follows from it.
  const std::string* MunicipalityName(std::string_view ags) const;
  // Every named municipality: AGS -> name.
  const std::map<std::string, std::string, std::less<>>& municipalities() const {
    return municipalities_;
  }

 private:
  std::vector<Organisation> orgs_;
  std::map<std::string, size_t, std::less<>> by_id_;
  std::map<std::string, std::vector<size_t>, std::less<>> by_function_;  // indexes into orgs_
  std::map<std::string, size_t, std::less<>> by_source_;                 // portals' sources
  std::map<std::string, size_t, std::less<>> speaks_for_;  // by_source_ and the `sources` map
  std::map<std::string, std::vector<std::string>, std::less<>> submitters_;  // workflow: portals
  std::map<std::string, std::string, std::less<>> municipalities_;           // AGS: name
  bool participants_must_be_bound_ = false;

  // The loader's part for the top-level `sources` and `submitters` (directory_loader.cc).
  static void ReadSourcesAndSubmitters(const internal::MapReader& file, Directory* dir,
                                       internal::Errors* errors);
  // The loader's part for the top-level `municipalities` (directory_loader.cc).
  static void ReadMunicipalities(const internal::MapReader& file, Directory* dir,
                                 internal::Errors* errors);
};

}  // namespace amtsweg::dsl
