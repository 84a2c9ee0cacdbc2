#!/usr/bin/env bash
# The GPU check (docs/gpu.md, "GPU check"): on a bare machine with a GPU
# driver and no network, unpacks what travelled in .gpu/ (the Vulkan loader
# debs, the gpu:pack archive), then runs scripts/gpu/check.ts from the
# archive's project with the archive's Deno, writing OUT/check.json and
# OUT/check.log. Any further flags go to check.ts (--tiny, --budget S,
# --stages a,b, --python P).
#   usage: scripts/gpu/check.sh OUT [--carry DIR] [flags of check.ts]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/gpu/check.sh OUT [--carry DIR] [check.ts flags]" >&2; exit 2; }
out=$1; shift
carry=.gpu
if [ "${1:-}" = --carry ]; then carry=$2; shift 2; fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec > >(tee -a "$out/check.log") 2>&1
t0=$(date +%s)
echo "check.sh: $(date -u +%FT%TZ) on $(uname -n) ($(uname -m)), $(nproc) CPUs; carry $carry"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f "$carry/merba-gpu.tar" ] || { echo "check.sh: $carry/merba-gpu.tar is missing (run scripts/gpu/prepare.sh here first and carry $carry)" >&2; exit 2; }
work=${MERBA_GPU_WORK:-/tmp/merba_gpu_check}
mkdir -p "$work"
# Vulkan loader. No system loader and root (the bare device machine): the
# device notes' recipe, `dpkg -x` into / and ldconfig. Otherwise (a machine
# with its own loader, e.g. the rehearsal): into a private root, found
# through LD_LIBRARY_PATH, so / is never touched there.
if ls "$carry"/debs/*.deb >/dev/null 2>&1; then
  if ! ldconfig -p | grep -q libvulkan.so.1 && [ "$(id -u)" = 0 ]; then
    for f in "$carry"/debs/*.deb; do dpkg -x "$f" / || echo "check.sh: dpkg -x $f / failed"; done
    ldconfig
    echo "check.sh: Vulkan loader from $(ls "$carry"/debs/) unpacked into /: $(ldconfig -p | grep libvulkan.so.1 | head -n1)"
  else
    for f in "$carry"/debs/*.deb; do dpkg -x "$f" "$work/vkroot" || echo "check.sh: dpkg -x $f failed"; done
    lib=$(dirname "$(find "$work/vkroot" -name 'libvulkan.so.1*' | head -n1)")
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "check.sh: Vulkan loader from $(ls "$carry"/debs/) in $lib (LD_LIBRARY_PATH)"
  fi
elif ldconfig -p | grep -q libvulkan.so.1; then
  echo "check.sh: no debs carried; the system's libvulkan.so.1"
else
  echo "check.sh: WARNING no Vulkan loader (no debs in $carry/debs, none installed): webgpu stages will find no adapter"
fi
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' '; echo
tar -xf "$carry/merba-gpu.tar" -C "$work" || { echo "check.sh: cannot unpack $carry/merba-gpu.tar" >&2; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
echo "check.sh: unpacked in $(( $(date +%s) - t0 )) s; starting check.ts"
MERBA_WORKTREE=$PWD "$work/merba-gpu/run.sh" check --out "$out" --work "$work/check" "$@"
rc=$?
echo "check.sh: exit $rc after $(( $(date +%s) - t0 )) s"
exit $rc
