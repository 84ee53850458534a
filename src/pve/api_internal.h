#pragma once

// Helpers shared by the api_*.cpp files; not part of the public API.

#include <string>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::pve::detail {

// Calls that start a task answer with the UPID as `data`.
core::Result<std::string> expect_upid(core::Result<core::Json> data, const std::string& context);

// Applies `parse` to a successful answer; a parse error gets `context`.
template <typename F>
auto parse_answer(core::Result<core::Json> data, const std::string& context, F parse)
    -> decltype(parse(std::declval<const core::Json&>())) {
  if (!data.ok()) return std::move(data).error();
  return parse(*data).wrap(context);
}

}  // namespace pvekit::pve::detail
