// Helpers for running a child process from a multi-threaded service: pipes
// that cannot clobber the standard descriptors, writes that cannot raise
// SIGPIPE, closing inherited descriptors in the child, finding a program.
// Used by command plug-ins (reward/command_reward.cpp) and the sandbox
// (reward/sandbox.cpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace crescent::reward::process_io {

// A pipe whose ends are close-on-exec and above stderr, so that the dup2s in
// the child cannot clobber one another even when the service runs with a
// standard descriptor closed. False with errno set on failure.
bool Pipe(int fds[2]);

// write() without letting a closed pipe raise SIGPIPE, which would end the
// service: the signal is blocked for this thread during the write and a
// SIGPIPE that the write raised is consumed before it is unblocked.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size);

// Closes descriptors [first, last] (async-signal-safe: for a forked child).
void CloseRange(int first, int last, long open_max);

// `program` as execvp would find it: itself when it names a path (and is an
// executable file), else the first executable file of that name on PATH; ""
// when there is none.
std::string FindProgram(const std::string& program);

// Milliseconds from now to `deadline` for poll(), 0 when it has passed.
int MillisecondsLeft(std::chrono::steady_clock::time_point deadline);

// Reads `fd` into `data` until EOF or `size` bytes; `got`: how many came.
// False on a read error.
bool ReadToEnd(int fd, void* data, size_t size, size_t* got);

}  // namespace crescent::reward::process_io
