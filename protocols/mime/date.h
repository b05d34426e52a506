// RFC 5322 date-time (the Date: header) parsed into seconds since the Unix
// epoch, tolerant of what real mail carries: a missing or misspelled day of
// week, full month names, two- and three-digit years (RFC 5322 4.3), a
// missing seconds field, obsolete and military zone names, a missing zone
// (taken as +0000), trailing comments such as "(CET)", and the asctime
// layout "Mon Jan  2 15:04:05 2006". Used by SEARCH SENTBEFORE/SENTON/
// SENTSINCE and by sorting.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/civil_time.h"

namespace pillarbox::mime {

struct ParsedDate {
  std::int64_t utc = 0;  // seconds since the Unix epoch, UTC
  int zone_minutes = 0;  // the zone written in the date (+0200 -> 120)
  bool operator==(const ParsedDate&) const = default;
};

// nullopt when no date can be recognized.
std::optional<ParsedDate> ParseRfc5322Date(std::string_view value);

using pillarbox::DaysFromCivil;  // common/civil_time.h

}  // namespace pillarbox::mime
