// The identifiers that German administrative law defines, checked where they are read.
//
// - AGS (Amtlicher Gemeindeschlüssel): 8 digits, Land (2) Regierungsbezirk (1) Kreis (2)
//   Gemeinde (3); the Land code is 01 to 16.
// - ARS (Amtlicher Regionalschlüssel): 12 digits, Land (2) Regierungsbezirk (1) Kreis (2)
//   Gemeindeverband (4) Gemeinde (3); its AGS is digits 1-5 and 10-12.
// - LeiKa key (Leistungsschlüssel of the Leistungskatalog): 14 digits, ^99\d{12}$.
// Errors name the field that was read and the expected form. Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "engine/common/status.h"
#include "engine/common/value.h"

namespace amtsweg::ids {

bool IsAgs(std::string_view s);    // 8 digits, Land 01-16
bool IsArs(std::string_view s);    // 12 digits, Land 01-16
bool IsLeika(std::string_view s);  // 14 digits starting with 99
// A prefix of an AGS (1 to 8 digits; from 2 digits on, the Land code is 01-16).
bool IsAgsPrefix(std::string_view s);
// The AGS part of an ARS (which must satisfy IsArs).
std::string AgsOfArs(std::string_view ars);

// The AGS that `v`, read from `field` (e.g. "application.betrieb.ags"), names: an AGS as it
// is, an ARS by its AGS part. InvalidArgument otherwise, also for a missing value or a number
// (leading zeros lost), with a message naming the field and the expected form.
Result<std::string> MunicipalityKey(const Value& v, std::string_view field);

// OK when `v` (read from `field`) is a LeiKa key as a string; InvalidArgument naming the field
// and the form otherwise.
Status CheckLeika(const Value& v, std::string_view field);

}  // namespace amtsweg::ids
