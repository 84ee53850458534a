// Server-sent events (WHATWG HTML, "Server-sent events"): the text/event-stream
// framing of what a BodyStream sends, e.g. the dashboard's live progress.
#pragma once

#include <string>
#include <string_view>

namespace pvekit::http {

inline constexpr const char* kEventStreamType = "text/event-stream; charset=utf-8";

// One event: "event:" (omitted when empty), "id:" (omitted when empty), one
// "data:" line per line of `data` (CR, LF and CRLF all end a line, so data
// cannot end the event early or add a field), and the blank line that
// dispatches it. CR, LF and NUL in `event` and `id` are dropped: a name
// taken from input cannot add a field either.
std::string sse_event(std::string_view event, std::string_view data, std::string_view id = {});

// A comment line the browser ignores: keeps a quiet stream's connection (and
// proxies) alive, and shows a closed client to the next write.
std::string sse_comment(std::string_view text);

}  // namespace pvekit::http
