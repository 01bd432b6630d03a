// `crescent bench model`: decode and training throughput of a ~30M-parameter
// Llama at batch 32 on this process's threads, with MFU against a large square
// matmul and efficiency against the model's own linear layers (its weights,
// in its order, at the same shapes) timed alone.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace crescent::model {

// Options: --hidden N --layers N --vocab N --batch N --seq N --new N (defaults
// 512, 8, 8000, 32, 128, 32), --threads N (default 1), --train 0 / --decode 0
// to leave a part out, --rounds N (default 3: the model and its references
// are timed in turn, once each per round, and every figure is the median
// over rounds of that round's ratio). Prints one JSON object. Returns 0, or
// 2 for bad arguments.
int BenchCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace crescent::model
