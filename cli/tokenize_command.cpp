// `crescent tokenize --tokenizer PATH [--decode]`.
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/util/log.hpp"

namespace crescent::cli {

using tok::LoadTokenizer;
using tok::Tokenizer;

int TokenizeCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out) {
  std::string path;
  bool decode = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--tokenizer" && i + 1 < args.size()) {
      path = args[++i];
    } else if (args[i] == "--decode") {
      decode = true;
    } else {
      throw std::runtime_error(StrCat("tokenize: unexpected argument \"", args[i],
                                      "\"; usage: crescent tokenize --tokenizer PATH [--decode]"));
    }
  }
  if (path.empty()) throw std::runtime_error("tokenize: --tokenizer PATH is required");
  std::unique_ptr<Tokenizer> tokenizer = LoadTokenizer(path);
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(StrCat("tokenize: input line ", number, " is not JSON: ", e.what()));
    }
    if (decode) {
      if (!value.is_array())
        throw std::runtime_error(StrCat("tokenize: line ", number, " is not an array of ids"));
      out << nlohmann::json(tokenizer->Decode(value.get<std::vector<tok::TokenId>>())).dump()
          << "\n";
    } else {
      if (!value.is_string())
        throw std::runtime_error(StrCat("tokenize: line ", number, " is not a JSON string"));
      out << nlohmann::json(tokenizer->Encode(value.get<std::string>())).dump() << "\n";
    }
  }
  out.flush();
  return 0;
}

}  // namespace crescent::cli
