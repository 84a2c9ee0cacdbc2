#!/usr/bin/env bash
# Rehearses the GPU check under the device machine's conditions (docs/gpu.md):
# a copy of the working tree as the device tool sends it (tracked and
# untracked-not-ignored files, plus the carried .gpu/), no network
# (`unshare -n`), no Deno on PATH (the archive brings its own), a fresh
# $OUT; then runs scripts/gpu/check.sh there. Extra flags go to check.ts
# (default: --tiny --budget 1500, for software Vulkan).
#   usage: scripts/gpu/rehearse.sh [OUT] [check.ts flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
sim=$(mktemp -d /tmp/merba_devsim_XXXX)
out=${1:-$sim/out}; [ $# -gt 0 ] && shift
flags=("$@"); [ ${#flags[@]} -gt 0 ] || flags=(--tiny --budget 1500)
cd "$root"
[ -f .gpu/merba-gpu.tar ] || { echo "rehearse.sh: run scripts/gpu/prepare.sh first" >&2; exit 2; }
mkdir -p "$sim/repo"
{ git ls-files -z; git ls-files -z --others --exclude-standard; } | tar --null -T - -cf - | tar -xf - -C "$sim/repo"
cp -r .gpu "$sim/repo/.gpu"
echo "rehearse.sh: working tree copy $(du -sh "$sim/repo" | cut -f1) in $sim/repo (.gpu $(du -sh .gpu | cut -f1)); out $out"
py=$(dirname "$(command -v /usr/bin/python3)")
cd "$sim/repo"
# a clean environment: no proxies, no DENO_DIR, and in a private mount
# namespace every deno on PATH is covered by /dev/null
hide=$(env PATH="$py:/usr/sbin:/usr/bin:/sbin:/bin" which -a deno 2>/dev/null | tr '\n' ' ' || true)
env -i HOME="$sim" PATH="$py:/usr/sbin:/usr/bin:/sbin:/bin" MERBA_GPU_WORK="$sim/work" HIDE="$hide" \
  unshare -n -m --propagation private bash -c '
    for d in $HIDE; do mount --bind /dev/null "$d"; done
    if deno --version >/dev/null 2>&1; then echo "rehearse.sh: a deno still runs" >&2; exit 2; fi
    echo "rehearse.sh: network interfaces: $(awk "NR>2{printf \"%s \", \$1}" /proc/net/dev); deno hidden: ${HIDE:-none}"
    scripts/gpu/check.sh "$@"' _ "$out" "${flags[@]}"
