// Untrusted text (a request path, a header, a name, metadata) made safe for a log line or an
// audit entry. Every user-controlled string goes through Printable() before it reaches spdlog.
#pragma once

#include <string>
#include <string_view>

namespace recorder::server {

// `text` with every byte outside printable ASCII (CR, LF, ESC, other controls, DEL, any byte of a
// multi-byte character) and the backslash written as \xNN, so no input can start a line of its
// own, move a terminal's cursor or pass for one of these escapes. Text longer than `max_bytes` is
// cut there and ends in "...".
std::string Printable(std::string_view text, size_t max_bytes = 200);

}  // namespace recorder::server
