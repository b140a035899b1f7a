#include "engine/cli/options.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace amtsweg::cli {

namespace {

// "data-dir" -> "DATA_DIR".
std::string EnvPart(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c)) != 0
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

bool EnvSet(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0';
}

// Only plain decimal digits (and a leading minus for signed options): CLI11's conversion is
// strtoll with base 0, which reads `010` as 8 and `0x10` as 16 and skips leading blanks.
CLI::Validator DecimalInteger(bool is_signed) {
  return CLI::Validator(
      [is_signed](std::string& value) -> std::string {
        std::string_view digits = value;
        if (is_signed && !digits.empty() && digits.front() == '-') digits.remove_prefix(1);
        bool ok = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; });
        if (ok && digits.size() > 1 && digits.front() == '0') ok = false;
        if (ok) return "";
        return "'" + value + "' is not a decimal " + (is_signed ? "integer" : "number");
      },
      "");
}

// The option that the key `name` of a configuration table names, as CLI11 looks it up.
const CLI::Option* ConfigOption(const CLI::App& app, const std::string& name) {
  if (const CLI::Option* o = app.get_option_no_throw("--" + name)) return o;
  if (name.size() == 1) {
    if (const CLI::Option* o = app.get_option_no_throw("-" + name)) return o;
  }
  return nullptr;
}

// The TOML configuration file, checked against the commands (an unknown table or key is an
// error that names it; CLI11's own says "INI was not able to parse run.++"), less the keys whose
// option is set in the environment: CLI11 reads the file before the environment and fills an
// option from the environment only when it is still empty, so without this the file would win
// over the environment.
class EnvironmentFirstConfig final : public CLI::ConfigTOML {
 public:
  EnvironmentFirstConfig(const CLI::App& app,
                         std::shared_ptr<const std::set<std::string>> from_environment)
      : app_(app), from_environment_(std::move(from_environment)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> values = CLI::ConfigTOML::from_config(input);
    for (const CLI::ConfigItem& item : values)
      Check(item);
    values.erase(std::remove_if(values.begin(), values.end(),
                                [this](const CLI::ConfigItem& item) {
                                  return from_environment_->count(item.fullname()) > 0;
                                }),
                 values.end());
    return values;
  }

 private:
  void Check(const CLI::ConfigItem& item) const {
    const CLI::App* level = &app_;
    std::string table;
    for (const std::string& parent : item.parents) {
      const CLI::App* next = nullptr;
      for (const CLI::App* sub : level->get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->check_name(parent)) next = sub;
      }
      table.append(table.empty() ? "" : ".").append(parent);
      if (next == nullptr) {
        throw CLI::ConfigError("--config: [" + table + "] is no command of amtsweg (a table " +
                               "names a command, e.g. [run] or [case.list])");
      }
      level = next;
    }
    if (item.name == "++" || item.name == "--") return;  // a table's start and end
    if (ConfigOption(*level, item.name) == nullptr) {
      std::string command = table;
      std::replace(command.begin(), command.end(), '.', ' ');
      throw CLI::ConfigError("--config: " + (table.empty() ? "the top level" : "[" + table + "]") +
                             " has no option '" + item.name + "' (" + item.fullname() +
                             "; see `amtsweg " + command + (command.empty() ? "" : " ") +
                             "--help`)");
    }
  }

  const CLI::App& app_;
  std::shared_ptr<const std::set<std::string>> from_environment_;
};

// `path`: the command names from the top, e.g. {"case", "list"}.
void Walk(CLI::App& app, const std::vector<std::string>& path, std::set<std::string>* from_env) {
  std::string env_prefix = "AMTSWEG_";
  std::string key_prefix;
  for (const std::string& name : path) {
    env_prefix.append(EnvPart(name)).append("_");
    key_prefix.append(name).append(".");
  }
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    if (type.rfind("INT", 0) == 0) opt->check(DecimalInteger(/*is_signed=*/true));
    if (type.rfind("UINT", 0) == 0) opt->check(DecimalInteger(/*is_signed=*/false));
    if (!opt->nonpositional() || opt == app.get_help_ptr() || opt == app.get_version_ptr() ||
        opt == app.get_config_ptr() || opt->get_group().empty()) {
      continue;
    }
    const std::vector<std::string>& longs = opt->get_lnames();
    const std::vector<std::string>& shorts = opt->get_snames();
    const std::string& name = longs.empty() ? shorts.front() : longs.front();
    std::string specific = env_prefix + EnvPart(name);
    std::string shared = "AMTSWEG_" + EnvPart(name);
    // AMTSWEG_KEK_FILE is read by the key store itself, after AMTSWEG_KEK
    // (docs/data-protection.md); as --kek-file it would win over AMTSWEG_KEK.
    if (shared == "AMTSWEG_KEK_FILE") shared.clear();
    std::string chosen = !EnvSet(specific) && !shared.empty() && EnvSet(shared) ? shared : specific;
    opt->envname(chosen);
    if (!EnvSet(chosen)) continue;
    for (const std::string& n : longs)
      from_env->insert(key_prefix + n);
    for (const std::string& n : shorts)
      from_env->insert(key_prefix + n);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    std::vector<std::string> sub_path = path;
    sub_path.push_back(sub->get_name());
    Walk(*sub, sub_path, from_env);
  }
}

// An option of `app` or, as CLI11 falls through to them, of its parents.
const CLI::Option* FindOption(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    if (const CLI::Option* o = app->get_option_no_throw(name)) return o;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> UnknownCommand(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* level = &app;
  std::string path = "amtsweg";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") return std::nullopt;
    if (word.size() > 1 && word[0] == '-') {
      if (word.find('=') != std::string::npos) continue;
      const CLI::Option* o = FindOption(level, word);
      if (o != nullptr && o->get_items_expected_min() > 0) ++i;  // its value
      continue;
    }
    std::vector<const CLI::App*> subs =
        level->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;  // a positional argument of a command
    const CLI::App* next = nullptr;
    std::string names;
    for (const CLI::App* sub : subs) {
      if (sub->check_name(word)) next = sub;
      if (!names.empty()) names += ", ";
      names += sub->get_name();
    }
    if (next == nullptr) {
      std::string error = path;
      error.append(": unknown command '").append(word).append("'; the commands are: ");
      error.append(names).append(" (`").append(path).append(" --help` explains them)");
      return error;
    }
    level = next;
    path.append(" ").append(next->get_name());
  }
  return std::nullopt;
}

void AddConfigurationSources(CLI::App& app) {
  // CLI11 reads the configuration file before the environment, so AMTSWEG_CONFIG is read here.
  const char* env_file = std::getenv("AMTSWEG_CONFIG");
  const bool from_env = env_file != nullptr && *env_file != '\0';
  app.set_config("--config", from_env ? env_file : "",
                 "Configuration file (TOML): option values, one [table] per command (e.g. "
                 "[run], [case.list]); env AMTSWEG_CONFIG",
                 /*config_required=*/from_env);
  app.allow_config_extras(CLI::config_extras_mode::error);
  auto set_by_env = std::make_shared<std::set<std::string>>();
  Walk(app, {}, set_by_env.get());
  app.config_formatter(std::make_shared<EnvironmentFirstConfig>(app, set_by_env));
}

}  // namespace amtsweg::cli
