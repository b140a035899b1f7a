// Key-encryption keys (KEKs): what wraps the per-case data keys in the key store, and how
// amtsweg finds them (a key file or an environment variable, never the data store).
//
// KeyEncryptionKeys is the seam where a KMS or HSM can stand later: a KMS implementation wraps and
// unwraps remotely (the KEK never leaves it), and its ids are the KMS's key versions. The key store
// only ever calls Wrap and Unwrap, so nothing else changes. Today's implementation reads KEKs from
// text (ParseKeks): a file or the environment.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/common/status.h"
#include "engine/crypto/data_key.h"

namespace amtsweg::crypto {

// The KEKs amtsweg may use: the current one wraps new keys; older ones (kept during a rotation)
// only unwrap. Implementations are thread-safe: every method may be called from any thread.
class KeyEncryptionKeys {
 public:
  virtual ~KeyEncryptionKeys() = default;

  // The id of the KEK that wraps new keys.
  virtual std::string current_id() const = 0;
  // Whether a KEK with this id is configured (current or older).
  virtual bool Has(std::string_view kek_id) const = 0;
  // Where the KEKs come from, for messages: "key file /etc/amtsweg/kek",
  // "environment variable AMTSWEG_KEK", a KMS's address.
  virtual std::string where() const = 0;

  // Wraps `dek` under the current KEK: AES-256-GCM whose aad binds the case id and the KEK id, so
  // that a wrapped key cannot be moved to another case or passed off under another KEK id.
  // Sets *kek_id to the current id.
  virtual Result<std::string> Wrap(std::string_view case_id, const DataKey& dek,
                                   std::string* kek_id) const = 0;
  // Unwraps what Wrap made for `case_id` under `kek_id`. NotFound naming the id when that KEK is
  // not configured; Corruption "does not open" when the KEK is not the one that wrapped it (or the
  // bytes changed).
  virtual Result<DataKey> Unwrap(std::string_view case_id, std::string_view kek_id,
                                 std::string_view wrapped) const = 0;
};

// KEK ids: [A-Za-z0-9._-]{1,64}. InvalidArgument saying what is wrong with `id`.
Status ValidateKekId(std::string_view id);

// Parses KEKs from text: one KEK per line, "<id> <base64 of 32 bytes>"; '#' starts a comment line;
// blank lines are ignored. The first KEK is the current one; later ones only unwrap. Ids are
// unique. InvalidArgument naming `where` (e.g. "key file /x/kek") and the line on any error, and
// when there is no KEK at all.
Result<std::unique_ptr<KeyEncryptionKeys>> ParseKeks(std::string_view text, std::string_view where);

// Reads and parses a key file. IOError when it does not exist or cannot be read; a file that group
// or others may read is used, with a warning (spdlog) to make it mode 0600.
Result<std::unique_ptr<KeyEncryptionKeys>> LoadKekFile(const std::string& path);

// A line "<id> <base64 of 32 fresh random bytes>" (no newline), to append to a key file. `id`
// should pass ValidateKekId; ParseKeks refuses the line otherwise.
std::string NewKekLine(std::string_view id);

// Where amtsweg finds its KEKs and its key store (every CLI command that opens a store).
struct KeyConfig {
  // The key store directory; DefaultKeyDir(data dir) unless given (--key-dir).
  std::string key_dir;
  // --kek-file. Empty: the environment variable AMTSWEG_KEK (the key file's text itself), else
  // AMTSWEG_KEK_FILE (a path), else <key_dir>/kek.
  std::string kek_file;
};

// The default key store directory: "<data dir>.keys", a sibling of the data directory (so that a
// backup of the data directory never holds keys). The data dir is normalised first ("a/b/" and
// "a/./b" give "a/b.keys"; "." and ".." are made absolute).
std::string DefaultKeyDir(const std::string& data_dir);

// Resolves the KEKs as KeyConfig says. When nothing is configured and <key_dir>/kek does not
// exist: with `create`, writes a new key file there (directory mode 0700, file mode 0600, one KEK
// with id "kek-<YYYYMMDD>", today in UTC) and warns that production should keep the KEK elsewhere;
// without `create`, NotFound saying what was looked for. Errors of the file or variable used
// (IOError, InvalidArgument) name it.
Result<std::unique_ptr<KeyEncryptionKeys>> ResolveKeks(const KeyConfig& config, bool create);

}  // namespace amtsweg::crypto
