#pragma once
// The one place where text becomes part of a command line that a remote (POSIX) shell
// reads: every argument that crosses SSH goes through shell_quote.

#include <string>
#include <string_view>
#include <vector>

namespace bm::master {

// `word` as one shell word that the shell reads back byte for byte: bare when it holds
// only characters no shell treats specially, else in single quotes, each ' written as
// '\''. Spaces, quotes, $, ;, backticks, globs and newlines come back literally.
std::string shell_quote(std::string_view word);

// Each word quoted, separated by single spaces.
std::string shell_join(const std::vector<std::string>& words);

// Why `label` cannot name a run folder ("" when it can): it must not be empty, ".", "..",
// hold '/', a NUL or another control character, or be longer than 200 bytes. Spaces,
// quotes, $, ;, backticks and other punctuation are fine: they are always quoted.
std::string label_problem(std::string_view label);

}  // namespace bm::master
