#include "builtin_templates.h"

namespace pivot::tpl {
namespace {

// Gemma (1, 2, 3 text): "<start_of_turn>{user|model}\n{text}<end_of_turn>\n" per turn
// after BOS; the assistant role is called "model"; roles alternate starting with
// the user; a system message has no turn of its own: its text (untrimmed), then a
// blank line, starts the first user turn; turn text is trimmed; the
// generation prompt opens a model turn. Content may also be a list of parts, of
// which the text parts are used.
constexpr std::string_view kGemma = R"JINJA({{ bos_token }}
{%- macro text(content) -%}
{%- if content is string -%}{{ content | trim }}
{%- else -%}{%- for part in content -%}{%- if part['type'] == 'text' -%}{{ part['text'] | trim }}{%- endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- if messages and messages[0]['role'] == 'system' -%}
{%- set content = messages[0]['content'] -%}
{%- set system = (content if content is string else content[0]['text']) + '\n\n' -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set system = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for m in turns -%}
{%- if (m['role'] == 'user') != (loop.index0 % 2 == 0) -%}
{{ raise_exception('Gemma chat: roles must alternate user/assistant/user/... after an optional system message') }}
{%- endif -%}
{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\n' }}
{%- if loop.first -%}{{ system }}{%- endif -%}
{{ text(m['content']) }}{{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}
)JINJA";

constexpr BuiltinTemplate kTable[] = {
    {"gemma", "Gemma (<start_of_turn> turns)", kGemma},
    {"gemma2", "Gemma (<start_of_turn> turns)", kGemma},
    {"gemma3", "Gemma (<start_of_turn> turns)", kGemma},
};

}  // namespace

const BuiltinTemplate* builtin_template(std::string_view arch) {
  for (const BuiltinTemplate& t : kTable)
    if (t.arch == arch) return &t;
  return nullptr;
}

}  // namespace pivot::tpl
