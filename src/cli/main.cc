// `pivot`: one binary, one subcommand per job (inspect, run, chat, serve, ...).
// pivot::Error from any subcommand becomes "pivot: error: ..." and exit code 1.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "pivot/error.h"

int main(int argc, char** argv) {
  CLI::App app{"pivot: run LLMs on any accelerator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pivot 0.1.0");
  int exit_code = 0;
  pivot::cli::register_inspect(app, exit_code);
  pivot::cli::register_template(app, exit_code);
  pivot::cli::register_bench(app, exit_code);
  pivot::cli::register_tokenize(app, exit_code);
  pivot::cli::register_plan(app, exit_code);
  pivot::cli::register_logits(app, exit_code);
  pivot::cli::register_run(app, exit_code);
  pivot::cli::register_chat(app, exit_code);
  pivot::cli::register_serve(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pivot::Error& e) {
    std::fprintf(stderr, "pivot: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "pivot: error: out of memory\n");
    return 1;
  }
  return exit_code;
}
