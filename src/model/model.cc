// Architecture registration table and load_model().
#include "pivot/model.h"

#include <map>

#include "pivot/error.h"

namespace pivot {
namespace {

// Written only during static initialisation.
std::map<std::string, ModelFactory, std::less<>>& table() {
  static std::map<std::string, ModelFactory, std::less<>> t;
  return t;
}

}  // namespace

ArchRegistration::ArchRegistration(const char* arch, ModelFactory factory) {
  table()[arch] = factory;
}

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : table()) names.push_back(name);
  return names;
}

std::unique_ptr<Model> load_model(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts) {
  const std::string& arch = file.get("general.architecture").as_string("general.architecture");
  auto it = table().find(arch);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : arch_names()) known += (known.empty() ? "" : ", ") + n;
    fail("%s: architecture '%s' is not supported (this build has: %s)", file.path().c_str(),
         arch.c_str(), known.c_str());
  }
  if (opts.n_batch < 1)
    fail("n_batch must be >= 1, got %lld", static_cast<long long>(opts.n_batch));
  return it->second(file, backend, opts);
}

}  // namespace pivot
