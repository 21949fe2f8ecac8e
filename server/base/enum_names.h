// Enums that cross the SQL and JSON boundaries, with their names written once: `Name(e)` gives
// the stored/serialized text, `ParseName(text, &e)` reads it back. An enum joins by specializing
// kEnumNames with one name per enumerator, in enumerator order (0, 1, ...).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace recorder::server {

template <typename E>
inline constexpr std::array<std::string_view, 0> kEnumNames{};

template <typename E>
constexpr std::string_view Name(E value) {
  return kEnumNames<E>[static_cast<size_t>(value)];
}

// false (and `out` untouched) for text that names no enumerator.
template <typename E>
constexpr bool ParseName(std::string_view text, E* out) {
  for (size_t i = 0; i < kEnumNames<E>.size(); ++i) {
    if (kEnumNames<E>[i] == text) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

}  // namespace recorder::server
