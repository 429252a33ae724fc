// The OpenAI wire format of `pivot serve`: request parsing/validation and the
// JSON of responses, stream chunks and errors. No I/O, no model: pure functions
// over nlohmann::json, so every rule is unit-testable.
//
// Accepted (POST /v1/chat/completions, /v1/completions): messages / prompt,
// max_tokens, max_completion_tokens, temperature [0, 2], top_p (0, 1], seed,
// stop (string or list of up to 16), stream, stream_options.include_usage,
// n (only 1), frequency_penalty / presence_penalty [-2, 2]; other fields are
// ignored, as OpenAI-compatible servers do. Sampling defaults are OpenAI's
// (temperature 1, top_p 1, no top-k / min-p).
// Errors: ApiError carries the HTTP status and the OpenAI error object
//   {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pivot/sampler.h"

namespace pivot::serve {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = {}, std::string code = {},
           std::string type = "invalid_request_error")
      : std::runtime_error(message),
        status(status),
        param(std::move(param)),
        code(std::move(code)),
        type(std::move(type)) {}
  int status;
  std::string param, code, type;
};

// {"error": {"message", "type", "param", "code"}}; param/code null when empty.
nlohmann::json error_json(const ApiError& e);

enum class Endpoint : uint8_t { kChat, kCompletion };

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChat;
  nlohmann::ordered_json messages;  // chat: [{"role", "content" (string)}], validated
  std::string prompt;               // completion
  std::optional<int64_t> max_tokens;
  SamplerParams sampling;  // seed filled in by the caller when !seed_given
  bool seed_given = false;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
};

// Parses a request body. Throws ApiError (400) naming the field for malformed
// JSON, wrong types, missing/empty messages, unknown roles, out-of-range values
// and n != 1.
ApiRequest parse_request(Endpoint ep, const std::string& body);

struct ResponseMeta {
  std::string id, model;
  int64_t created = 0;  // Unix seconds
};

// Non-streamed response body.
nlohmann::json response_json(Endpoint ep, const ResponseMeta& m, const std::string& text,
                             const std::string& finish_reason, int64_t n_prompt,
                             int64_t n_completion);
// One streamed chunk: text delta (first chunk of a chat also has the role), or
// the final chunk (finish_reason set, empty delta).
nlohmann::json chunk_json(Endpoint ep, const ResponseMeta& m, const std::string& text, bool first,
                          const std::string* finish_reason);
// The trailing usage chunk (stream_options.include_usage): empty choices.
nlohmann::json usage_chunk_json(Endpoint ep, const ResponseMeta& m, int64_t n_prompt,
                                int64_t n_completion);

}  // namespace pivot::serve
