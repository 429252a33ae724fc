#include "api.h"

#include <cmath>

namespace pivot::serve {
namespace {

using json = nlohmann::json;

ApiError bad(const std::string& param, const std::string& msg, const std::string& code) {
  return ApiError(400, msg, param, code);
}

const char* type_name(const json& v) {
  return v.is_null()      ? "null"
         : v.is_boolean() ? "boolean"
         : v.is_number()  ? "number"
         : v.is_string()  ? "string"
         : v.is_array()   ? "array"
                          : "object";
}

ApiError wrong_type(const std::string& param, const char* want, const json& got) {
  return bad(param, "'" + param + "' must be " + want + ", got " + type_name(got), "invalid_type");
}

double number(const json& body, const char* key, double lo, double hi, double dflt) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return dflt;
  if (!it->is_number()) throw wrong_type(key, "a number", *it);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw bad(key,
              "'" + std::string(key) + "' must be in [" + json(lo).dump() + ", " + json(hi).dump() +
                  "], got " + it->dump(),
              "invalid_value");
  return v;
}

std::optional<int64_t> integer(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() && !it->is_number_unsigned())
    throw wrong_type(key, "an integer", *it);
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
    throw bad(key, "'" + std::string(key) + "' is too large: " + it->dump(), "invalid_value");
  return it->get<int64_t>();
}

// Message content: a string, or a list of {"type": "text", "text": ...} parts.
std::string content_text(const json& c, const std::string& param) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_null()) return {};
  if (!c.is_array()) throw wrong_type(param, "a string or an array of text parts", c);
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const json& p = c[i];
    const std::string pp = param + "[" + std::to_string(i) + "]";
    if (!p.is_object() || p.value("type", json()) != "text" || !p.contains("text") ||
        !p["text"].is_string())
      throw bad(pp, "'" + pp + "' must be {\"type\": \"text\", \"text\": string}", "invalid_type");
    out += p["text"].get<std::string>();
  }
  return out;
}

}  // namespace

json error_json(const ApiError& e) {
  return {{"error",
           {{"message", e.what()},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

ApiRequest parse_request(Endpoint ep, const std::string& text) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::parse_error& e) {
    throw bad("", std::string("the body is not valid JSON: ") + e.what(), "invalid_json");
  }
  if (!body.is_object()) throw wrong_type("body", "a JSON object", body);
  ApiRequest r;
  r.endpoint = ep;
  if (ep == Endpoint::kChat) {
    auto it = body.find("messages");
    if (it == body.end() || it->is_null())
      throw bad("messages", "'messages' is required", "missing_field");
    if (!it->is_array()) throw wrong_type("messages", "an array", *it);
    if (it->empty()) throw bad("messages", "'messages' must not be empty", "invalid_value");
    r.messages = nlohmann::ordered_json::array();
    for (size_t i = 0; i < it->size(); ++i) {
      const json& m = (*it)[i];
      const std::string p = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) throw wrong_type(p, "an object", m);
      auto role = m.find("role");
      if (role == m.end()) throw bad(p + ".role", "'" + p + ".role' is required", "missing_field");
      if (!role->is_string()) throw wrong_type(p + ".role", "a string", *role);
      const std::string rs = role->get<std::string>();
      if (rs != "system" && rs != "user" && rs != "assistant" && rs != "developer" && rs != "tool")
        throw bad(p + ".role",
                  "unknown role '" + rs + "' in " + p +
                      " (expected system, developer, user, assistant or tool)",
                  "invalid_value");
      if (!m.contains("content") && rs != "assistant")
        throw bad(p + ".content", "'" + p + ".content' is required", "missing_field");
      const std::string content = content_text(m.value("content", json()), p + ".content");
      r.messages.push_back({{"role", rs == "developer" ? "system" : rs}, {"content", content}});
    }
  } else {
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null())
      throw bad("prompt", "'prompt' is required", "missing_field");
    if (it->is_array() && it->size() == 1 && (*it)[0].is_string())
      r.prompt = (*it)[0].get<std::string>();
    else if (it->is_string())
      r.prompt = it->get<std::string>();
    else
      throw wrong_type("prompt", "a string (or a list of one string)", *it);
    if (r.prompt.empty()) throw bad("prompt", "'prompt' must not be empty", "invalid_value");
  }

  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (auto v = integer(body, key)) {
      if (*v < 1)
        throw bad(key, "'" + std::string(key) + "' must be >= 1, got " + std::to_string(*v),
                  "invalid_value");
      if (!r.max_tokens) r.max_tokens = v;
    }
  if (auto n = integer(body, "n"); n && *n != 1)
    throw bad("n", "only n = 1 is supported, got " + std::to_string(*n), "invalid_value");

  SamplerParams& s = r.sampling;
  s.temperature = static_cast<float>(number(body, "temperature", 0.0, 2.0, 1.0));
  s.top_p = static_cast<float>(number(body, "top_p", 0.0, 1.0, 1.0));
  if (s.top_p <= 0) throw bad("top_p", "'top_p' must be in (0, 1], got 0", "invalid_value");
  s.top_k = 0;
  s.min_p = 0;
  s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", -2.0, 2.0, 0.0));
  s.presence_penalty = static_cast<float>(number(body, "presence_penalty", -2.0, 2.0, 0.0));
  if (auto seed = integer(body, "seed")) {
    s.seed = static_cast<uint64_t>(*seed);
    r.seed_given = true;
  }

  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      r.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      if (it->size() > 16) throw bad("stop", "'stop' may hold at most 16 strings", "invalid_value");
      for (const json& x : *it) {
        if (!x.is_string()) throw wrong_type("stop", "a string or a list of strings", *it);
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      throw wrong_type("stop", "a string or a list of strings", *it);
    }
    for (const auto& x : r.stop)
      if (x.empty()) throw bad("stop", "stop strings must not be empty", "invalid_value");
  }
  if (auto it = body.find("stream"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw wrong_type("stream", "a boolean", *it);
    r.stream = it->get<bool>();
  }
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw wrong_type("stream_options", "an object", *it);
    if (auto u = it->find("include_usage"); u != it->end() && !u->is_null()) {
      if (!u->is_boolean()) throw wrong_type("stream_options.include_usage", "a boolean", *u);
      r.include_usage = u->get<bool>();
    }
  }
  return r;
}

namespace {

json usage(int64_t p, int64_t c) {
  return {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
}

json head(Endpoint ep, const ResponseMeta& m, bool chunk) {
  const char* object = ep == Endpoint::kChat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                             : "text_completion";
  return {{"id", m.id},
          {"object", object},
          {"created", m.created},
          {"model", m.model},
          {"system_fingerprint", "pivot"}};
}

}  // namespace

json response_json(Endpoint ep, const ResponseMeta& m, const std::string& text,
                   const std::string& finish_reason, int64_t n_prompt, int64_t n_completion) {
  json r = head(ep, m, false);
  json choice = {{"index", 0}, {"finish_reason", finish_reason}, {"logprobs", nullptr}};
  if (ep == Endpoint::kChat)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text;
  r["choices"] = json::array({choice});
  r["usage"] = usage(n_prompt, n_completion);
  return r;
}

json chunk_json(Endpoint ep, const ResponseMeta& m, const std::string& text, bool first,
                const std::string* finish_reason) {
  json r = head(ep, m, true);
  json choice = {{"index", 0},
                 {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)},
                 {"logprobs", nullptr}};
  if (ep == Endpoint::kChat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!finish_reason) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  r["choices"] = json::array({choice});
  return r;
}

json usage_chunk_json(Endpoint ep, const ResponseMeta& m, int64_t n_prompt, int64_t n_completion) {
  json r = head(ep, m, true);
  r["choices"] = json::array();
  r["usage"] = usage(n_prompt, n_completion);
  return r;
}

}  // namespace pivot::serve
