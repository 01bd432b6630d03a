// The test suite itself: every TEST_CASE name reaches ctest whole. ctest
// splits a name at ';' (a CMake list separator), and each half then runs
// no test at all and passes.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

// The names of the TEST_CASEs in `text`: the string literals after
// "TEST_CASE(", joined as C++ joins adjacent literals.
std::vector<std::string> TestNames(const std::string& text) {
  std::vector<std::string> names;
  for (size_t at = text.find("TEST_CASE("); at != std::string::npos;
       at = text.find("TEST_CASE(", at + 1)) {
    size_t p = at + 10;
    std::string name;
    while (true) {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      if (p >= text.size() || text[p] != '"') break;
      const size_t end = text.find('"', p + 1);
      if (end == std::string::npos) break;
      name += text.substr(p + 1, end - p - 1);
      p = end + 1;
    }
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

}  // namespace

TEST_CASE("no test name holds a semicolon, which would split it in ctest", "[suite]") {
  CHECK(TestNames("TEST_CASE(\n  \"a; \"\n  \"b\", \"[x]\")") == std::vector<std::string>{"a; b"});
  size_t files = 0, names = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(CRESCENT_SOURCE_DIR) + "/tests")) {
    if (entry.path().extension() != ".cpp" || entry.path().filename() == "suite_test.cpp") continue;
    ++files;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& name : TestNames(text)) {
      ++names;
      INFO(entry.path().string() << ": \"" << name << "\"");
      CHECK(name.find(';') == std::string::npos);
    }
  }
  CHECK(files > 20);
  CHECK(names > 150);
}
