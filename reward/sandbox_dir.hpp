// The sandbox's host directories (reward/sandbox_dir.cpp), for
// reward/sandbox.cpp.
#pragma once

#include <sys/types.h>

#include <memory>

#include "reward/sandbox.hpp"

namespace crescent::reward::sandbox_internal {

// A fresh directory under $TMPDIR (else /tmp), readable by everyone; `give`:
// owned by uid:gid, as are the files written into it (the service runs as
// root and runs are made as that user). Throws std::runtime_error naming the
// directory it could not make.
std::unique_ptr<SandboxDir> MakeSandboxDir(bool give, uid_t uid, gid_t gid);

}  // namespace crescent::reward::sandbox_internal
