// KEKs from text (a key file or AMTSWEG_KEK) and their resolution. Base64 through OpenSSL.
#include "engine/crypto/kek.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

namespace amtsweg::crypto {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvKek = "AMTSWEG_KEK";
constexpr std::string_view kEnvKekFile = "AMTSWEG_KEK_FILE";

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Strict standard base64 (padded). EVP_DecodeBlock alone accepts surrounding whitespace and
// counts padding as zero bytes, so the text is checked here first. The caller wipes *out.
bool Base64Decode(std::string_view text, std::string* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    if (!IsBase64Char(text[i])) return false;
  }
  out->assign(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != out->size()) return false;
  out->resize(out->size() - pad);
  return true;
}

// A string that wipes itself: decoded KEK bytes pass through one.
struct WipedString {
  std::string s;
  ~WipedString() { OPENSSL_cleanse(s.data(), s.size()); }
};

void AppendLengthPrefixed(std::string_view s, std::string* out) {
  uint64_t n = s.size();
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(s);
}

// What a wrapped key is bound to: its case and the id of the KEK that wrapped it.
std::string WrapAad(std::string_view case_id, std::string_view kek_id) {
  std::string aad("amtsweg.dek.v1");
  aad.push_back('\0');
  AppendLengthPrefixed(case_id, &aad);
  AppendLengthPrefixed(kek_id, &aad);
  return aad;
}

// KEKs held in memory, read from text.
class TextKeks : public KeyEncryptionKeys {
 public:
  TextKeks(std::vector<std::pair<std::string, DataKey>> keks, std::string where)
      : keks_(std::move(keks)), where_(std::move(where)) {}

  std::string current_id() const override { return keks_.front().first; }
  bool Has(std::string_view kek_id) const override { return Find(kek_id) != nullptr; }
  std::string where() const override { return where_; }

  Result<std::string> Wrap(std::string_view case_id, const DataKey& dek,
                           std::string* kek_id) const override {
    const auto& [id, kek] = keks_.front();
    std::string wrapped;
    Seal(kek, WrapAad(case_id, id), dek.bytes(), &wrapped);
    *kek_id = id;
    return wrapped;
  }

  Result<DataKey> Unwrap(std::string_view case_id, std::string_view kek_id,
                         std::string_view wrapped) const override {
    const DataKey* kek = Find(kek_id);
    if (kek == nullptr) {
      return Status::NotFound("the KEK '" + std::string(kek_id) + "' is not configured in " +
                              where_);
    }
    Result<std::string> plain = Open(*kek, WrapAad(case_id, kek_id), wrapped);
    if (!plain.ok()) {
      return Status::Corruption("the key of case '" + std::string(case_id) +
                                "' does not open with the KEK '" + std::string(kek_id) + "' in " +
                                where_);
    }
    WipedString bytes{std::move(plain).value()};
    Result<DataKey> dek = DataKey::FromBytes(bytes.s);
    if (!dek.ok()) {
      return Status::Corruption("the key of case '" + std::string(case_id) +
                                "' unwraps to a wrong length");
    }
    return dek;
  }

 private:
  const DataKey* Find(std::string_view kek_id) const {
    for (const auto& [id, kek] : keks_) {
      if (id == kek_id) return &kek;
    }
    return nullptr;
  }

  std::vector<std::pair<std::string, DataKey>> keks_;  // the current one first
  std::string where_;
};

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string Errno(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d", &tm);
  return buf;
}

// Creates <dir>/kek (mode 0600; the directory 0700 when made here) holding one new KEK.
Status WriteDefaultKekFile(const std::string& dir, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("creating key directory " + dir + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (ec) return Status::IOError("chmod 700 " + dir + ": " + ec.message());
  }
  WipedString text;
  text.s = "# amtsweg key-encryption key (KEK), generated " + TodayUtc() +
           ". Keep this file mode 0600.\n"
           "# Production: keep the KEK outside the key store directory (a secret store, another\n"
           "# mount) and point --kek-file, AMTSWEG_KEK_FILE or AMTSWEG_KEK at it. See\n"
           "# docs/data-protection.md.\n" +
           NewKekLine("kek-" + TodayUtc()) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("creating key file " + path + ": " + Errno(errno));
  size_t done = 0;
  while (done < text.s.size()) {
    const ssize_t n = ::write(fd, text.s.data() + done, text.s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::IOError("writing key file " + path + ": " + Errno(err));
    }
    done += static_cast<size_t>(n);
  }
  // Durable before any key is wrapped with it: a KEK lost in a crash would lose every key.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError("fsync key file " + path + ": " + Errno(err));
  }
  if (::close(fd) != 0) return Status::IOError("closing key file " + path + ": " + Errno(errno));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) return Status::IOError("fsync key directory " + dir + ": " + Errno(errno));
  }
  spdlog::warn(
      "generated a new KEK in {}: fine for trying amtsweg, but in production keep the KEK "
      "elsewhere (a secret store, a separate mount) and give it with --kek-file, "
      "AMTSWEG_KEK_FILE or AMTSWEG_KEK; a backup of the key store must not hold its KEK",
      path);
  return Status::OK();
}

const char* Env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

Status ValidateKekId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("empty KEK id");
  if (id.size() > 64) {
    return Status::InvalidArgument("KEK id '" + std::string(id) + "' is longer than 64 characters");
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("KEK id '" + std::string(id) +
                                     "' has a character other than A-Z a-z 0-9 . _ -");
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<KeyEncryptionKeys>> ParseKeks(std::string_view text,
                                                     std::string_view where) {
  std::vector<std::pair<std::string, DataKey>> keks;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;

    auto fail = [&](const std::string& what) {
      return Status::InvalidArgument(std::string(where) + ": line " + std::to_string(line_no) +
                                     ": " + what);
    };
    const size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) {
      return fail("expected '<id> <base64 of 32 bytes>', found one word");
    }
    const std::string_view id = line.substr(0, space);
    const std::string_view b64 = Trim(line.substr(space + 1));
    if (b64.find_first_of(" \t") != std::string_view::npos) {
      return fail("expected '<id> <base64 of 32 bytes>', found more than two words");
    }
    if (Status s = ValidateKekId(id); !s.ok()) return fail(s.message());
    for (const auto& [seen, kek] : keks) {
      if (seen == id) return fail("KEK id '" + std::string(id) + "' appears twice");
    }
    WipedString bytes;
    if (!Base64Decode(b64, &bytes.s))
      return fail("the KEK of '" + std::string(id) + "' is not base64");
    Result<DataKey> kek = DataKey::FromBytes(bytes.s);
    if (!kek.ok()) {
      return fail("the KEK of '" + std::string(id) + "' has " + std::to_string(bytes.s.size()) +
                  " bytes, not 32");
    }
    keks.emplace_back(std::string(id), std::move(kek).value());
  }
  if (keks.empty()) {
    return Status::InvalidArgument(std::string(where) +
                                   ": no KEK (expected lines '<id> <base64 of 32 bytes>')");
  }
  return std::unique_ptr<KeyEncryptionKeys>(
      std::make_unique<TextKeks>(std::move(keks), std::string(where)));
}

Result<std::unique_ptr<KeyEncryptionKeys>> LoadKekFile(const std::string& path) {
  const std::string where = "key file " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::IOError(where + ": " + Errno(errno));
  if (!S_ISREG(st.st_mode)) return Status::IOError(where + ": not a regular file");
  if ((st.st_mode & 077) != 0) {
    spdlog::warn("{} may be read by group or others (mode {:o}); make it mode 0600", where,
                 st.st_mode & 0777);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(where + ": cannot be read");
  WipedString text;
  text.s.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(where + ": read failed");
  return ParseKeks(text.s, where);
}

std::string NewKekLine(std::string_view id) {
  const DataKey kek = DataKey::Generate();
  return std::string(id) + " " + Base64Encode(kek.bytes());
}

std::string DefaultKeyDir(const std::string& data_dir) {
  fs::path p = fs::path(data_dir.empty() ? "." : data_dir).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  if (p.filename() == "." || p.filename() == ".." || p.empty()) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    if (!ec) p = abs.lexically_normal();
    if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  }
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s + ".keys";
}

Result<std::unique_ptr<KeyEncryptionKeys>> ResolveKeks(const KeyConfig& config, bool create) {
  if (!config.kek_file.empty()) return LoadKekFile(config.kek_file);
  if (const char* text = Env(kEnvKek)) {
    return ParseKeks(text, "environment variable " + std::string(kEnvKek));
  }
  if (const char* path = Env(kEnvKekFile)) {
    Result<std::unique_ptr<KeyEncryptionKeys>> keks = LoadKekFile(path);
    if (!keks.ok()) return keks.status().WithContext("AMTSWEG_KEK_FILE");
    return keks;
  }
  if (config.key_dir.empty()) return Status::InvalidArgument("no key directory given");
  const std::string path = config.key_dir + "/kek";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (!create) {
      return Status::NotFound(
          "no KEK: neither --kek-file, AMTSWEG_KEK nor AMTSWEG_KEK_FILE is given, and " + path +
          " does not exist");
    }
    RETURN_IF_ERROR(WriteDefaultKekFile(config.key_dir, path));
  }
  return LoadKekFile(path);
}

}  // namespace amtsweg::crypto
