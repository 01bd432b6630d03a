// Running independent work items on a few threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace crescent {

// Calls f(0), ..., f(n - 1), each once, on up to `threads` threads (this one
// among them); returns when all have returned. f must not throw.
template <class F>
void ParallelFor(size_t n, int64_t threads, const F& f) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < n;) f(i);
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < std::min<int64_t>(threads, static_cast<int64_t>(n)); ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace crescent
