// Escaping text for HTML documents (the case file export and the public status page).
#pragma once

#include <string>
#include <string_view>

namespace amtsweg {

// `text` safe as HTML element content and as a quoted attribute value: & < > " ' escaped.
std::string HtmlEscape(std::string_view text);

}  // namespace amtsweg
