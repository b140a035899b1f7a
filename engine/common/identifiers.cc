#include "engine/common/identifiers.h"

#include <algorithm>

namespace amtsweg::ids {

namespace {

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool LandCode(std::string_view two) {
  int land = (two[0] - '0') * 10 + (two[1] - '0');
  return land >= 1 && land <= 16;
}

std::string Quoted(std::string_view s) {
  constexpr size_t kShown = 40;
  std::string out = "'";
  out.append(s.substr(0, kShown));
  if (s.size() > kShown) out += "...";
  out += "'";
  return out;
}

}  // namespace

bool IsAgs(std::string_view s) {
  return s.size() == 8 && Digits(s) && LandCode(s);
}

bool IsArs(std::string_view s) {
  return s.size() == 12 && Digits(s) && LandCode(s);
}

bool IsLeika(std::string_view s) {
  return s.size() == 14 && Digits(s) && s.starts_with("99");
}

bool IsAgsPrefix(std::string_view s) {
  return s.size() >= 1 && s.size() <= 8 && Digits(s) && (s.size() < 2 || LandCode(s));
}

std::string AgsOfArs(std::string_view ars) {
  std::string ags(ars.substr(0, 5));
  ags.append(ars.substr(9, 3));
  return ags;
}

Result<std::string> MunicipalityKey(const Value& v, std::string_view field) {
  const std::string where(field);
  if (v.is_null()) {
    return Status::InvalidArgument(where +
                                   " is missing (an AGS: 8 digits such as \"01002000\", "
                                   "or an ARS: 12 digits)");
  }
  if (v.is_number()) {
    return Status::InvalidArgument(where + " is the number " + v.ToJson() +
                                   "; an AGS is a string of 8 digits (\"01002000\", the leading "
                                   "zero is part of the key), an ARS a string of 12");
  }
  if (!v.is_string()) {
    return Status::InvalidArgument(where + " must be a string: an AGS of 8 digits or an ARS of 12");
  }
  const std::string& s = v.as_string();
  if (IsAgs(s)) return s;
  if (IsArs(s)) return AgsOfArs(s);
  if ((s.size() == 8 || s.size() == 12) && Digits(s)) {
    return Status::InvalidArgument(where + " " + Quoted(s) + ": Land code '" + s.substr(0, 2) +
                                   "' does not exist (01 to 16)");
  }
  return Status::InvalidArgument(where + " " + Quoted(s) +
                                 " is not an AGS (8 digits) or an ARS (12 digits)");
}

Status CheckLeika(const Value& v, std::string_view field) {
  const std::string where(field);
  if (v.is_null()) {
    return Status::InvalidArgument(where + " (the LeiKa service key) is missing");
  }
  if (v.is_number()) {
    return Status::InvalidArgument(where + " is the number " + v.ToJson() +
                                   "; a LeiKa key is a string of 14 digits starting with 99 "
                                   "(\"99050012104000\")");
  }
  if (!v.is_string())
    return Status::InvalidArgument(where + " (the LeiKa service key) must be a string");
  if (!IsLeika(v.as_string())) {
    return Status::InvalidArgument(where + " " + Quoted(v.as_string()) +
                                   " is not a LeiKa key (14 digits starting with 99, "
                                   "^99\\d{12}$)");
  }
  return Status::OK();
}

}  // namespace amtsweg::ids
