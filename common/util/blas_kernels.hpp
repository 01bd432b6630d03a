// Which kernels OpenBLAS runs, and mending its choice where it falls back
// to generic ones. OpenBLAS picks its kernels once, when it is loaded, from
// the processor's model number; version 0.3.21 (Debian 12's) does not know
// Intel's Sapphire and Emerald Rapids and runs its SSE3 "Prescott" kernels
// there, which took the quickstart's SFT 2-3x as long as its AVX-512 or AVX2
// kernels on the same processor (docs/perf.md).
#pragma once

#include <string>

namespace crescent::util {

// The loaded OpenBLAS's kernels (its openblas_get_corename()), or "" when
// this process has no OpenBLAS.
std::string BlasKernels();

// What to set OPENBLAS_CORETYPE to instead: "SkylakeX" or "Haswell" when
// OpenBLAS fell back to Prescott on a processor with AVX-512 or AVX2 and
// OPENBLAS_CORETYPE is unset (a user's setting stands, "Prescott" too);
// otherwise "".
std::string BetterBlasKernels();

// For commands that compute with tensors, called first thing in main:
// re-executes this program with OPENBLAS_CORETYPE set to
// BetterBlasKernels() when there is one. In the re-executed program it
// removes that setting from the environment again, so that the programs it
// starts (MPI ranks, perhaps on other hosts) choose for their own processor.
void ReexecForBlasKernels(char** argv);

}  // namespace crescent::util
