// libFuzzer target: the callbridged configuration file (TOML via toml++, then the key-by-key
// reader, validation and each tenant's dialing plan). A bad file must give an error that names
// what is wrong - never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/config.hpp"
#include "app/dialing_config.hpp"
#include "fuzz_check.hpp"

namespace app = callbridge::app;
using callbridge::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = app::parse_config(text, "fuzz.toml");
  if (!config) {
    check(!config.error().message().empty(), "config error without a message");
    return 0;
  }
  auto valid = app::validate(*config);
  if (!valid) {
    check(!valid.error().message().empty(), "validation error without a message");
    return 0;
  }
  for (const auto& [tenant, t] : config->tenants) (void)app::tenant_dialing_plan(*config, tenant);
  return 0;
}
