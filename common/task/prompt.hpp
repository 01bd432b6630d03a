// A prompt as the task layer produces it. Standard library only, so that the
// wire protocol can serialise it without depending on the task library.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace crescent::task {

// One turn of a chat. `role` is "system", "user" or "assistant".
struct Message {
  std::string role;
  std::string content;
};

struct Prompt {
  std::string id;    // stable name of the problem (the built-in task uses its text)
  std::string text;  // what the model is given (a plain prompt; empty for a chat)
  // "answer", "difficulty", "domain", "tests", ...: passed untouched to the
  // reward services.
  std::map<std::string, std::string> metadata;
  // A chat prompt (a JSONL line's "messages"): an optional system turn first,
  // at least one user turn, the last turn a user's, so that the chat
  // template's generation prompt follows it. Empty for a plain prompt. Last,
  // and with an initializer, so that brace-initialising {id, text, metadata}
  // still means what it did (and draws no missing-initializer warning).
  std::vector<Message> messages = {};
  // The metadata keys whose value is JSON text (the data file had a number,
  // boolean, array, object or null there) rather than a string, so that a
  // command reward plug-in receives each value with its JSON type.
  std::set<std::string> json_metadata = {};
};

}  // namespace crescent::task
