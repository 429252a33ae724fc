// The serving engine's pieces without a model: PagedKvCache block accounting and
// placement, and the OpenAI request parser's rules (src/serve/api.h).
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "../../src/serve/api.h"
#include "pivot/backend.h"
#include "pivot/paged_kv_cache.h"

namespace pivot {
namespace {

ModelSpec tiny_spec() {
  ModelSpec s;
  s.n_layer = 2;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.head_dim = 3;
  return s;
}

TEST(PagedKvCache, ReserveAndReleaseCountBlocks) {
  auto be = create_backend("reference");
  PagedKvCache kv(*be, tiny_spec(), 10, 4);
  EXPECT_EQ(kv.total(), 10);
  EXPECT_EQ(kv.used(), 0);
  EXPECT_EQ(kv.bytes(), 2u * 2 * 2 * 3 * 4 * 10 * sizeof(float));
  KvSeq a, b;
  EXPECT_TRUE(kv.reserve(a, 9));  // 3 blocks
  EXPECT_EQ(a.blocks.size(), 3u);
  EXPECT_TRUE(kv.reserve(a, 12));  // still 3
  EXPECT_EQ(kv.used(), 3);
  EXPECT_FALSE(kv.reserve(b, 29));  // 8 > 7 free: nothing taken
  EXPECT_TRUE(b.blocks.empty());
  EXPECT_EQ(kv.used(), 3);
  EXPECT_TRUE(kv.reserve(b, 28));
  EXPECT_EQ(kv.free(), 0);
  kv.release(a);
  EXPECT_TRUE(a.blocks.empty());
  EXPECT_EQ(kv.used(), 7);
  kv.release(b);
  EXPECT_EQ(kv.used(), 0);
}

TEST(PagedKvCache, StorePlacesRowsInTheSequencesBlocks) {
  auto be = create_backend("reference");
  const ModelSpec s = tiny_spec();
  PagedKvCache kv(*be, s, 6, 4);
  KvSeq filler, seq;
  ASSERT_TRUE(kv.reserve(filler, 4));  // seq's blocks do not start at 0
  ASSERT_TRUE(kv.reserve(seq, 10));
  const int64_t row = s.head_dim * s.n_head_kv;
  std::vector<float> k(static_cast<size_t>(row * 7)), v(k.size());
  std::iota(k.begin(), k.end(), 1.0f);
  std::iota(v.begin(), v.end(), 1000.0f);
  kv.store(*be, 1, seq, 3, 7, k.data(), v.data());  // positions 3..9 cross two block edges
  for (int64_t j = 3; j < 10; ++j) {
    const int64_t slot = seq.blocks[static_cast<size_t>(j / 4)] * 4 + j % 4;
    const float* kp = static_cast<const float*>(kv.k(1).data) + slot * row;
    const float* vp = static_cast<const float*>(kv.v(1).data) + slot * row;
    for (int64_t i = 0; i < row; ++i) {
      EXPECT_EQ(kp[i], k[static_cast<size_t>((j - 3) * row + i)]) << j;
      EXPECT_EQ(vp[i], v[static_cast<size_t>((j - 3) * row + i)]) << j;
    }
  }
  EXPECT_THROW(kv.store(*be, 0, seq, 9, 4, k.data(), v.data()), std::exception);  // past 12
}

using serve::ApiError;
using serve::Endpoint;
using serve::parse_request;

int status_of(Endpoint ep, const std::string& body) {
  try {
    parse_request(ep, body);
    return 200;
  } catch (const ApiError& e) {
    return e.status;
  }
}

TEST(ServeApi, ParsesAChatRequest) {
  const auto r = parse_request(Endpoint::kChat, R"({"messages": [{"role": "system", "content": "s"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "max_completion_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 9, "stop": "x",
      "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "ignored"})");
  EXPECT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.sampling.seed, 9u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r.stream && r.include_usage);
}

TEST(ServeApi, RejectsBadInputWith400) {
  const Endpoint c = Endpoint::kChat;
  for (const char* body : {
           "{",
           "[]",
           "{}",
           R"({"messages": {}})",
           R"({"messages": []})",
           R"({"messages": [{"role": "x", "content": "a"}]})",
           R"({"messages": [{"content": "a"}]})",
           R"({"messages": [{"role": "user", "content": "a"}], "max_tokens": -1})",
           R"({"messages": [{"role": "user", "content": "a"}], "max_tokens": 1.5})",
           R"({"messages": [{"role": "user", "content": "a"}], "temperature": -0.1})",
           R"({"messages": [{"role": "user", "content": "a"}], "top_p": 0})",
           R"({"messages": [{"role": "user", "content": "a"}], "n": 3})",
           R"({"messages": [{"role": "user", "content": "a"}], "stop": [1]})",
           R"({"messages": [{"role": "user", "content": "a"}], "stop": ""})",
           R"({"messages": [{"role": "user", "content": "a"}], "seed": "1"})",
       })
    EXPECT_EQ(status_of(c, body), 400) << body;
  EXPECT_EQ(status_of(Endpoint::kCompletion, R"({"prompt": 5})"), 400);
  EXPECT_EQ(status_of(Endpoint::kCompletion, R"({"prompt": ""})"), 400);
  EXPECT_EQ(status_of(Endpoint::kCompletion, R"({"prompt": ["a"]})"), 200);
}

TEST(ServeApi, ErrorObjectHasTheOpenAiShape) {
  const auto j = serve::error_json(ApiError(400, "bad", "max_tokens", "invalid_value"));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "max_tokens");
  EXPECT_EQ(j["error"]["code"], "invalid_value");
  EXPECT_TRUE(serve::error_json(ApiError(404, "x"))["error"]["param"].is_null());
}

}  // namespace
}  // namespace pivot
