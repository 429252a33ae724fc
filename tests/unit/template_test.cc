// The template interpreter feature by feature (snippets rendered by jinja2 in
// HF's environment: tests/golden/templates/snippets_renders.json), plus what
// no oracle covers: error locations, limits and garbage input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "pivot/chat_template.h"
#include "pivot/error.h"

namespace {

using json = nlohmann::ordered_json;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string render(const std::string& src, json vars = json::object(),
                   json messages = json::array()) {
  pivot::RenderOptions opt;
  opt.extra = std::move(vars);
  opt.now = 1741962566;
  return pivot::ChatTemplate(src, "t").render(messages, opt);
}

std::string error_of(const std::string& src, json vars = json::object()) {
  try {
    render(src, std::move(vars));
  } catch (const pivot::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Template, SnippetsMatchJinja2) {
  json doc = json::parse(slurp(PIVOT_SOURCE_DIR "/tests/golden/templates/snippets_renders.json"));
  for (const json& c : doc["cases"]) {
    std::string t = c["t"];
    std::string got, err;
    try {
      pivot::RenderOptions opt;
      opt.extra = c["ctx"];
      opt.now = doc["now"].get<std::time_t>();
      got = pivot::ChatTemplate(t, "t").render(json::array(), opt);
    } catch (const pivot::Error& e) {
      err = e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << t << ": internal error: " << e.what();
      continue;
    }
    if (c.contains("output")) {
      EXPECT_EQ(err, "") << t;
      EXPECT_EQ(got, c["output"].get<std::string>()) << t;
    } else {
      std::string want = c["error"];
      EXPECT_NE(err, "") << t << "\nwant " << want << "\ngot output " << got;
      if (c["error_type"] != "TypeError" || want.find("generator") != std::string::npos) {
        EXPECT_TRUE(err.size() >= want.size() &&
                    err.compare(err.size() - want.size(), want.size(), want) == 0)
            << t << "\nwant " << want << "\ngot  " << err;
      }
    }
  }
}

TEST(Template, ErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("ab\n  {{ raise_exception('nope') }}"), "t:2:6: nope");
  EXPECT_EQ(error_of("{% if %}"), "t:1:7: Expected an expression, got end of statement block");
  EXPECT_EQ(error_of("x\n{% for m in ms %}"),
            "t:2:18: Unexpected end of template. Jinja was looking for the following tags: "
            "'endfor' or 'else'.");
  EXPECT_EQ(error_of("{{ 'unterminated }}"), "t:1:4: unexpected end of string");
  EXPECT_EQ(error_of("{# never closed"), "t:1:1: Missing end of comment tag");
  EXPECT_EQ(error_of("{% frobnicate %}"), "t:1:4: Encountered unknown tag 'frobnicate'.");
  EXPECT_EQ(error_of("{{ x | nosuch }}"), "t:1:8: No filter named 'nosuch'.");
  EXPECT_EQ(error_of("é{{ a.b.c }}", {{"a", json::object()}}),
            "t:1:8: 'dict object' has no attribute 'b'");
}

TEST(Template, ContextIsBuiltLikeTransformers) {
  json msgs = json::parse(R"([{"role": "assistant", "content": null, "reasoning": "r"}])");
  // None-valued keys dropped; reasoning aliased to thinking + reasoning_content.
  EXPECT_EQ(
      render("{{ messages[0] | tojson }}", json::object(), msgs),
      R"({"thinking": "r", "role": "assistant", "reasoning": "r", "reasoning_content": "r"})");
  EXPECT_EQ(render("{{ tools is none }}{{ add_generation_prompt }}{{ bos_token is defined }}"),
            "TrueFalseFalse");
  pivot::RenderOptions opt;
  opt.bos_token = "<s>";
  opt.extra = {{"enable_thinking", false}};
  EXPECT_EQ(pivot::ChatTemplate("{{ bos_token }}{{ enable_thinking }}").render(json::array(), opt),
            "<s>False");
}

TEST(Template, DefaultTemplateIsChatML) {
  json msgs = json::parse(R"([{"role": "user", "content": "hi"}])");
  pivot::RenderOptions opt;
  opt.add_generation_prompt = true;
  EXPECT_EQ(pivot::ChatTemplate(pivot::ChatTemplate::kDefaultSource).render(msgs, opt),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Template, LimitsStopRunawayTemplates) {
  EXPECT_NE(error_of("{% for i in range(100000000) %}{% endfor %}").find("range() too large"),
            std::string::npos);
  EXPECT_NE(error_of("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}"
                     "{% endfor %}")
                .find("steps"),
            std::string::npos);
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("depth"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 1000000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}")
                .find("nesting too deep"),
            std::string::npos);
  std::string deep_if;
  for (int i = 0; i < 1000; ++i) deep_if += "{% if true %}";
  EXPECT_NE(error_of(deep_if).find("nesting too deep"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(3000, '[') + std::string(3000, ']') + " }}")
                .find("nesting too deep"),
            std::string::npos);
}

TEST(Template, GarbageNeverCrashes) {
  // Random mutations of a real template: every outcome is a render or a pivot::Error.
  std::string base =
      slurp(PIVOT_SOURCE_DIR "/tests/data/chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  const char* pieces[] = {"{{",     "}}", "{%",    "%}", "{#", "#}", "-",   "(",
                          ")",      "[",  "]",     "'",  "\"", "|",  ".",   "for",
                          "endfor", "if", "endif", "\\", "\n", "é",  "\xff"};
  json msgs = json::parse(R"([{"role": "user", "content": "hi"}])");
  std::mt19937 rng(42);
  for (int iter = 0; iter < 400; ++iter) {
    std::string s = base;
    for (int k = 0; k < 4; ++k) {
      size_t at = rng() % (s.size() + 1);
      if (rng() % 2)
        s.insert(at, pieces[rng() % (sizeof pieces / sizeof *pieces)]);
      else
        s.erase(at, rng() % 8);
    }
    try {
      pivot::RenderOptions opt;
      opt.add_generation_prompt = true;
      pivot::ChatTemplate(s, "fuzz").render(msgs, opt);
    } catch (const pivot::Error&) {
    }
  }
}

}  // namespace
