// Internal to crescent_reward (the math_*.cpp files behind math_verify.hpp):
// the text helpers every step of math answer checking uses, and Normalise,
// which turns the many LaTeX spellings of an answer into one
// (math_normalise.cpp).
#pragma once

#include <initializer_list>
#include <string>

namespace crescent::reward::math_internal {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool OneOf(const std::string& s, std::initializer_list<const char*> names);

std::string Trim(const std::string& s);

// Without spaces: the form two answers are compared in as text.
// Without spaces, but for one between two digits: "1 9" is no number 19
// (thousands separators are merged before).
std::string Compact(const std::string& s);

std::string Lower(std::string s);

// The answer in a small vocabulary of LaTeX (see math_normalise.cpp): one
// spelling of each symbol, single spaces, no trailing period, thousands
// separators merged.
std::string Normalise(const std::string& in);

}  // namespace crescent::reward::math_internal
