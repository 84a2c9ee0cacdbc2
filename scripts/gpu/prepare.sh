#!/usr/bin/env bash
# Prepares what the GPU check carries (docs/gpu.md, "GPU check"): the Vulkan
# loader debs (fetch_vulkan.sh) and the gpu:pack archive (Deno + the
# pruned npm packages + sources) in .gpu/, then checks that the tracked files
# plus .gpu/ fit the 64 MiB a device call may carry.
#   usage: scripts/gpu/prepare.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu
if ! ls .gpu/debs/*.deb >/dev/null 2>&1; then scripts/gpu/fetch_vulkan.sh .gpu/debs; fi
deno run -A scripts/gpu/pack.ts --spec experiments/table7.ts --preset smoke --backend webgpu --out .gpu/merba-gpu.tar
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
carried=$(du -sb .gpu | cut -f1)
total=$((tracked + untracked + carried))
limit=$((64 * 1024 * 1024))
printf 'travels: tracked %.1f MiB + untracked %.1f MiB + .gpu %.1f MiB = %.1f MiB (limit 64 MiB)\n' \
  "$(echo "$tracked/1048576" | bc -l)" "$(echo "$untracked/1048576" | bc -l)" \
  "$(echo "$carried/1048576" | bc -l)" "$(echo "$total/1048576" | bc -l)"
if [ "$total" -gt "$limit" ]; then
  echo "prepare.sh: what travels is over 64 MiB: the device call would be refused" >&2
  exit 1
fi
