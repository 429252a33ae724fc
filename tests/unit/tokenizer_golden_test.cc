// Token ids from llama.cpp (tests/golden/tokenizer/goldens.jsonl, made by
// gen_tokenizer_goldens.py from corpus.jsonl) for the two real models and the
// vocabulary files: every id must match. Also decode(encode(x)) == x where lossless.
// A missing model file skips, unless PIVOT_REQUIRE_MODELS=1 (CI), which fails.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "pivot/gguf.h"
#include "pivot/tokenizer.h"
#include "test_util.h"

namespace pivot {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kGolden = fs::path(PIVOT_SOURCE_DIR) / "tests/golden/tokenizer";

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return out;
}

struct Corpus {
  std::vector<std::string> text;
  std::vector<bool> valid_utf8;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus c;
    for (const std::string& line : lines_of(kGolden / "corpus.jsonl")) {
      json j = json::parse(line);
      bool hex = j.contains("hex");
      c.text.push_back(hex ? unhex(j["hex"].get<std::string>()) : j["text"].get<std::string>());
      c.valid_utf8.push_back(!hex);
    }
    return c;
  }();
  return c;
}

fs::path model_path(const std::string& file) {
  if (file.rfind("vocab/", 0) == 0)
    return fs::path(PIVOT_SOURCE_DIR) / "tests/data/tokenizer-vectors" / file.substr(6);
  const char* dir = std::getenv("PIVOT_MODELS");
  const char* home = std::getenv("HOME");
  fs::path d = dir ? fs::path(dir) : fs::path(home ? home : "") / ".cache/pivot/models";
  return d / file.substr(file.find('/') + 1);
}

bool require_models() {
  const char* r = std::getenv("PIVOT_REQUIRE_MODELS");
  return r && std::string(r) == "1";
}

class TokGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokGolden, MatchesLlamaCpp) {
  std::vector<json> runs;
  for (const std::string& line : lines_of(kGolden / "goldens.jsonl")) {
    json j = json::parse(line);
    if (j.value("model", "") == GetParam()) runs.push_back(std::move(j));
  }
  ASSERT_FALSE(runs.empty()) << "no goldens for " << GetParam();
  fs::path path = model_path(runs[0]["file"].get<std::string>());
  if (!fs::exists(path)) {
    if (require_models()) FAIL() << path << " not found (PIVOT_REQUIRE_MODELS=1)";
    GTEST_SKIP() << path << " not found; run scripts/get-models.sh";
  }
  GgufFile f = GgufFile::open(path.string());
  auto tok = Tokenizer::from_gguf(f);
  const Corpus& c = corpus();
  size_t checked = 0, failed = 0;
  for (const json& run : runs) {
    const auto& ids = run["ids"];
    ASSERT_EQ(ids.size(), c.text.size()) << "goldens.jsonl is stale: regenerate it";
    bool add_special = run["add_special"], parse_special = run["parse_special"];
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i].is_null()) continue;
      auto want = ids[i].get<std::vector<TokenId>>();
      auto got = tok->encode(c.text[i], add_special, parse_special);
      ++checked;
      if (got != want && ++failed <= 10) {
        ADD_FAILURE() << GetParam() << " " << run["mode"] << " case " << i << " \"" << c.text[i]
                      << "\"\n  want" << test::join_ids(want) << "\n  got " << test::join_ids(got);
      }
    }
  }
  EXPECT_EQ(failed, 0u) << "of " << checked;
  EXPECT_GT(checked, c.text.size() - 1);
}

// decode(encode(x)) == x for valid UTF-8 the vocabulary can represent, with no
// special tokens in the way (they may strip or add spaces). ASCII control
// characters are skipped: some vocabularies lack their byte tokens, and llama.cpp
// drops such bytes.
TEST_P(TokGolden, RoundTrip) {
  std::string file;
  for (const std::string& line : lines_of(kGolden / "goldens.jsonl")) {
    json j = json::parse(line);
    if (j.value("model", "") == GetParam()) file = j["file"];
  }
  fs::path path = model_path(file);
  if (!fs::exists(path)) {
    if (require_models()) FAIL() << path << " not found (PIVOT_REQUIRE_MODELS=1)";
    GTEST_SKIP() << path << " not found";
  }
  GgufFile f = GgufFile::open(path.string());
  auto tok = Tokenizer::from_gguf(f);
  const Corpus& c = corpus();
  size_t checked = 0;
  for (size_t i = 0; i < c.text.size(); ++i) {
    if (!c.valid_utf8[i]) continue;
    bool control = false;
    for (unsigned char ch : c.text[i])
      control |= (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7F;
    // SentencePiece turns a literal U+2581 into a space.
    if (control || c.text[i].find("\xE2\x96\x81") != std::string::npos) continue;
    auto ids = tok->encode(c.text[i], false, false);
    bool lossy = false;
    for (TokenId id : ids) {
      const std::string& t = tok->token_text(id);
      lossy |= t == "<unk>" || t == "<|endoftext|>" || t.rfind("[PAD", 0) == 0 ||
               (t.size() > 1 && t.find_first_not_of(" \n") == std::string::npos) || t == "</s>";
    }
    if (lossy) continue;
    ++checked;
    EXPECT_EQ(tok->decode(ids), c.text[i]) << GetParam() << " case " << i;
  }
  EXPECT_GT(checked, c.text.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(Tok, TokGolden,
                         ::testing::Values("smollm2", "gemma3", "gpt-2", "llama-spm", "phi-3",
                                           "deepseek-llm", "mpt", "starcoder", "baichuan"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

}  // namespace
}  // namespace pivot
