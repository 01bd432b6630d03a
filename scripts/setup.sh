#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), then configures and builds
# crescent into build/. Safe to run again: it only does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread          # LibTorch; OpenBLAS: 25x faster than the reference BLAS
  libtcmalloc-minimal4                       # malloc that keeps tensor memory: 1.5x faster training
  libopenmpi-dev openmpi-bin                 # launch, bootstrap, CPU collectives
  libzmq3-dev cppzmq-dev                     # messaging
  libcereal-dev libyaml-cpp-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev               # tokenizer: split patterns, NFC
  catch2 iproute2                            # tests; network-namespace hosts
  python3                                    # scripts/make-chat-math.py (and its test)
  bubblewrap                                 # the code sandbox (docs/sandbox.md)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_type=${CRESCENT_BUILD_TYPE:-Release}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j"${CRESCENT_JOBS:-2}" "$@"
