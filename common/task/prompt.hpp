// A prompt as the task layer produces it. Standard library only, so that the
// wire protocol can serialise it without depending on the task library.
#pragma once

#include <map>
#include <string>

namespace crescent::task {

struct Prompt {
  std::string id;    // stable name of the problem (the built-in task uses its text)
  std::string text;  // what the model is given
  // "answer", "difficulty", "domain", "tests", ...: passed untouched to the
  // reward services.
  std::map<std::string, std::string> metadata;
};

}  // namespace crescent::task
