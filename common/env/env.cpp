#include "common/env/env.hpp"

namespace crescent::env {

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void WriteFileAtomically(Env* env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    std::unique_ptr<WritableFile> f = env->NewWritableFile(tmp);
    f->Append(data);
    f->Sync();
    f->Close();
  }
  env->Rename(tmp, path);
  env->SyncDir(Dirname(path));
}

}  // namespace crescent::env
