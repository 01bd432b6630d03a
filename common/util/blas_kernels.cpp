#include "common/util/blas_kernels.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace crescent::util {
namespace {

// Set beside OPENBLAS_CORETYPE by the re-execution, so the re-executed
// program knows the setting is crescent's, not the user's.
constexpr char kChosenMark[] = "CRESCENT_CHOSE_BLAS_KERNELS";

}  // namespace

std::string BlasKernels() {
  using CoreName = char* (*)();
  auto f = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = f ? f() : nullptr;
  return name ? name : "";
}

std::string BetterBlasKernels() {
  if (std::getenv("OPENBLAS_CORETYPE") || BlasKernels() != "Prescott") return "";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

void ReexecForBlasKernels(char** argv) {
  if (std::getenv(kChosenMark)) {
    unsetenv(kChosenMark);
    unsetenv("OPENBLAS_CORETYPE");
    return;
  }
  const std::string kernels = BetterBlasKernels();
  if (kernels.empty()) return;
  setenv("OPENBLAS_CORETYPE", kernels.c_str(), 1);
  setenv(kChosenMark, "1", 1);
  execv("/proc/self/exe", argv);
  // Could not re-execute: go on with the kernels already loaded.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kChosenMark);
}

}  // namespace crescent::util
