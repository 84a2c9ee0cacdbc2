#!/usr/bin/env bash
# Downloads the Vulkan loader (Debian's libvulkan1, amd64) as .deb files into
# DIR (default .gpu/debs), for a GPU machine that has the NVIDIA driver but no
# loader. scripts/gpu/check.sh unpacks them there with `dpkg -x` into a
# private folder (never into /). Needs apt-get and a reachable apt mirror;
# nothing here is installed.
#   usage: scripts/gpu/fetch_vulkan.sh [DIR]
set -euo pipefail
dir=${1:-.gpu/debs}
mkdir -p "$dir" /tmp/merba_apt_amd64/partial
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/merba_apt_amd64)
apt-get "${o[@]}" update -qq
rm -f "$dir"/*.deb
(cd "$dir" && apt-get "${o[@]}" download -qq libvulkan1)
ls -l "$dir"/*.deb
