// llama.cpp's tokenizer test vectors (tests/data/tokenizer-vectors, see its
// README): every case of every vocabulary must give exactly llama.cpp's ids
// (add-special off, parse-special off), and decode(encode(x)) == x where the
// vocabulary can represent x.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pivot/gguf.h"
#include "pivot/tokenizer.h"
#include "test_util.h"

namespace pivot {
namespace {

const std::filesystem::path kDir =
    std::filesystem::path(PIVOT_SOURCE_DIR) / "tests/data/tokenizer-vectors";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Cases are separated by "\n__ggml_vocab_test__\n" (test-tokenizer-0.cpp's reader).
std::vector<std::string> read_inputs(const std::filesystem::path& p) {
  const std::string raw = read_file(p), sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

std::vector<std::vector<TokenId>> read_outputs(const std::filesystem::path& p) {
  std::vector<std::vector<TokenId>> out;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<TokenId> ids;
    TokenId id;
    while (ls >> id) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

class TokVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(TokVectors, MatchLlamaCpp) {
  const std::filesystem::path gguf = kDir / ("ggml-vocab-" + GetParam() + ".gguf");
  GgufFile f = GgufFile::open(gguf.string());
  auto tok = Tokenizer::from_gguf(f);
  auto inputs = read_inputs(gguf.string() + ".inp");
  auto outputs = read_outputs(gguf.string() + ".out");
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_GT(inputs.size(), 40u);
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto ids = tok->encode(inputs[i], false, false);
    EXPECT_EQ(test::join_ids(ids), test::join_ids(outputs[i]))
        << "case " << i << ": \"" << inputs[i] << "\"";
  }
}

TEST_P(TokVectors, RoundTrip) {
  const std::filesystem::path gguf = kDir / ("ggml-vocab-" + GetParam() + ".gguf");
  GgufFile f = GgufFile::open(gguf.string());
  auto tok = Tokenizer::from_gguf(f);
  for (const std::string& text : read_inputs(gguf.string() + ".inp")) {
    auto ids = tok->encode(text, false, false);
    std::string back = tok->decode(ids);
    // Lossless unless the vocabulary lacks a character (an <unk> or a dropped byte).
    bool has_unk = false;
    for (TokenId id : ids) has_unk |= tok->token_text(id) == "<unk>";
    if (!has_unk) {
      EXPECT_EQ(back, text);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tok, TokVectors,
                         ::testing::Values("gpt-2", "llama-spm", "phi-3", "deepseek-llm", "mpt",
                                           "starcoder"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

}  // namespace
}  // namespace pivot
