// Subcommands of the `pivot` binary. Each registers itself on the CLI11 app and
// returns the callback's exit code through `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace pivot::cli {

void register_inspect(CLI::App& app, int& exit_code);
void register_template(CLI::App& app, int& exit_code);
void register_bench(CLI::App& app, int& exit_code);
void register_tokenize(CLI::App& app, int& exit_code);
void register_plan(CLI::App& app, int& exit_code);
void register_logits(CLI::App& app, int& exit_code);
void register_run(CLI::App& app, int& exit_code);
void register_chat(CLI::App& app, int& exit_code);
void register_serve(CLI::App& app, int& exit_code);

}  // namespace pivot::cli
