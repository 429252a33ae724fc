// Real chat templates rendered byte for byte as Hugging Face renders them.
// Goldens: tests/golden/templates/renders/*.json, made by generate.py with
// transformers + jinja2; each case holds its inputs and the expected text, or
// the error the template raised (then we must raise too, with the same message
// for raise_exception and undefined-variable errors, plus line and column).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "pivot/chat_template.h"
#include "pivot/error.h"

namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

const fs::path kRoot = PIVOT_SOURCE_DIR;
const fs::path kRenders = kRoot / "tests/golden/templates/renders";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> golden_files() {
  std::vector<std::string> out;
  if (fs::exists(kRenders))
    for (const auto& e : fs::directory_iterator(kRenders))
      if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

class TemplateGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateGolden, MatchesTransformers) {
  json doc = json::parse(slurp(kRenders / (GetParam() + ".json")));
  std::string path = doc["template"];
  pivot::ChatTemplate tpl(slurp(kRoot / path), path);
  int passed = 0, total = 0;
  for (const json& c : doc["cases"]) {
    ++total;
    std::string name = c["name"];
    pivot::RenderOptions opt;
    opt.tools = c["tools"];
    opt.add_generation_prompt = c["add_generation_prompt"];
    if (doc["bos_token"].is_string()) opt.bos_token = doc["bos_token"].get<std::string>();
    if (doc["eos_token"].is_string()) opt.eos_token = doc["eos_token"].get<std::string>();
    opt.extra = c["extra"];
    opt.now = doc["now"].get<std::time_t>();
    std::string got, err;
    try {
      got = tpl.render(c["messages"], opt);
    } catch (const pivot::Error& e) {
      err = e.what();
    }
    if (c.contains("output")) {
      std::string want = c["output"];
      EXPECT_TRUE(err.empty()) << path << " [" << name << "]: unexpected error: " << err;
      EXPECT_EQ(got, want) << path << " [" << name << "]";
      passed += err.empty() && got == want;
      continue;
    }
    std::string want_type = c["error_type"], want = c["error"];
    EXPECT_FALSE(err.empty()) << path << " [" << name << "]: expected " << want_type << ": " << want
                              << "\ngot output:\n"
                              << got;
    if (err.empty()) continue;
    // NAME:LINE:COL: MESSAGE
    std::smatch m;
    std::string prefix = path + ":";
    bool located =
        err.rfind(prefix, 0) == 0 && std::regex_search(err.cbegin() + prefix.size(), err.cend(), m,
                                                       std::regex("^[0-9]+:[0-9]+: "));
    EXPECT_TRUE(located) << path << " [" << name << "]: no line/column in: " << err;
    bool same_text = true;
    if (want_type == "TemplateError" || want_type == "UndefinedError") {
      same_text = err.size() >= want.size() &&
                  err.compare(err.size() - want.size(), want.size(), want) == 0;
      EXPECT_TRUE(same_text) << path << " [" << name << "]: want message '" << want
                             << "', got: " << err;
    }
    passed += located && same_text;
  }
  std::printf("[ golden   ] %s: %d/%d cases\n", GetParam().c_str(), passed, total);
}

INSTANTIATE_TEST_SUITE_P(Renders, TemplateGolden, ::testing::ValuesIn(golden_files()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(TemplateGolden, CoversEnoughTemplates) {
  EXPECT_GE(golden_files().size(), 20u);
}

}  // namespace
