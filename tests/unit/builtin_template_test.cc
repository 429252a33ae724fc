// Built-in chat templates for model files without tokenizer.chat_template: the
// selection by general.architecture, and Gemma's, rendered against the jinja2
// goldens of Google's own Gemma 3 template (tests/golden/templates/renders/
// google-gemma-3-it.json): every text-only case must render byte for byte the
// same, and every case the official template rejects must be rejected too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pivot/chat_template.h"
#include "pivot/gguf.h"
#include "test_util.h"

namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// A GGUF with no tensors: general.architecture = arch and a 3-token vocabulary
// (<pad>, <eos>, <bos>), BOS 2, EOS 1.
std::vector<uint8_t> tiny_gguf(const std::string& arch) {
  pivot::test::GgufWriter w;
  w.put<uint32_t>(0x46554747).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(4);
  w.str("general.architecture").put<uint32_t>(8).str(arch);
  w.str("tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3);
  w.str("<pad>").str("<eos>").str("<bos>");
  w.str("tokenizer.ggml.bos_token_id").put<uint32_t>(4).put<uint32_t>(2);
  w.str("tokenizer.ggml.eos_token_id").put<uint32_t>(4).put<uint32_t>(1);
  return w.b;
}

TEST(BuiltinTemplate, GemmaFilesGetTheGemmaTurnFormat) {
  const std::vector<uint8_t> bytes = tiny_gguf("gemma3");
  const pivot::ChatTemplate t =
      pivot::ChatTemplate::from_gguf(pivot::GgufFile::parse(bytes, "tiny-gemma3.gguf"));
  EXPECT_TRUE(t.is_default());
  EXPECT_NE(t.warning().find("Gemma"), std::string::npos) << t.warning();
  pivot::RenderOptions ro;
  ro.add_generation_prompt = true;
  const json msgs = json::parse(R"([{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": " Hi! "}])");
  EXPECT_EQ(t.render(msgs, ro),
            "<bos><start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\n");
}

TEST(BuiltinTemplate, OtherArchitecturesGetChatMl) {
  const std::vector<uint8_t> bytes = tiny_gguf("llama");
  const pivot::ChatTemplate t =
      pivot::ChatTemplate::from_gguf(pivot::GgufFile::parse(bytes, "tiny-llama.gguf"));
  EXPECT_TRUE(t.is_default());
  EXPECT_EQ(t.source(), pivot::ChatTemplate::kDefaultSource);
  EXPECT_NE(t.warning().find("ChatML"), std::string::npos) << t.warning();
}

TEST(BuiltinTemplate, GemmaMatchesGooglesTemplate) {
  const fs::path golden =
      fs::path(PIVOT_SOURCE_DIR) / "tests/golden/templates/renders/google-gemma-3-it.json";
  std::ifstream in(golden, std::ios::binary);
  ASSERT_TRUE(in) << golden;
  std::stringstream ss;
  ss << in.rdbuf();
  const json doc = json::parse(ss.str());
  const std::vector<uint8_t> bytes = tiny_gguf("gemma3");
  const pivot::ChatTemplate t =
      pivot::ChatTemplate::from_gguf(pivot::GgufFile::parse(bytes, "tiny-gemma3.gguf"));
  int rendered = 0, rejected = 0;
  for (const json& c : doc["cases"]) {
    if (!c["tools"].is_null()) continue;  // Gemma 3's template has no tool support either
    pivot::RenderOptions ro;
    ro.add_generation_prompt = c["add_generation_prompt"];
    ro.bos_token = doc["bos_token"].get<std::string>();
    ro.extra = c["extra"];
    if (c.contains("output")) {
      EXPECT_EQ(t.render(c["messages"], ro), c["output"].get<std::string>()) << c["name"];
      ++rendered;
    } else {
      EXPECT_THROW(t.render(c["messages"], ro), std::exception) << c["name"];
      ++rejected;
    }
  }
  EXPECT_GE(rendered, 8);
  EXPECT_GE(rejected, 1);
}

}  // namespace
