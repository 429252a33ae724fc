// Python str semantics over UTF-8: code-point indexing, str.isspace, case
// mapping (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic — what chat
// templates meet in practice), strip/split as Python defines them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pivot::tpl::text {

std::u32string decode(std::string_view s);  // invalid bytes become U+FFFD
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
size_t length(std::string_view s);  // in code points

bool is_space(char32_t c);  // Python str.isspace
bool is_alpha(char32_t c);  // cased letters we can map, plus other non-ASCII letters roughly
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title
std::string capitalize(std::string_view s);  // str.capitalize

enum class Side { kLeft = 1, kRight = 2, kBoth = 3 };
// str.strip(chars); chars == nullptr strips whitespace.
std::string strip(std::string_view s, const std::string* chars, Side side);
// str.split(sep, maxsplit) / str.split() when sep == nullptr.
std::vector<std::string> split(std::string_view s, const std::string* sep, long maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, long maxsplit);
std::string replace(std::string_view s, std::string_view from, std::string_view to, long count);

}  // namespace pivot::tpl::text
