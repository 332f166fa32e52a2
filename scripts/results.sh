#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make results`: this host's results page, rewritten whole:
#
#   scripts/results.sh BUILD_DIR          writes docs/results/HOST.md
#
# HOST names the host's Vulkan driver: lavapipe, or the GPU (nvidia-h100,
# nvidia-h200, ...). The page has a header (date, commit, host driver and
# version, guest Mesa versions, CPU) and one section per part, each made by
# the tool that measures it:
#   bench      bench/run.sh: native vs venus-server (vs virglrenderer where
#              the trixie root is): start-up, round trips, a synchronous
#              call, throughput, bandwidth, vkmark, an idle client's cost
#   tenants    bench/tenants.sh: a tenant's start-up and memory per
#              isolation mode, and 16 tenants at once
#   vm-paths   bench/vm-paths.sh: the vhost-user device beside the render
#              server and the VM channel, the same guest (not in PARTS by
#              default: two TCG boots); else its table from VM_PATHS_LOG
#              (a saved vm-paths-*.md, the GPU host's from gpu-check)
#   tests      `make test`'s counts, from TEST_LOG (its saved output)
#   gpu-check  scripts/gpu-check.sh's summary, from GPU_CHECK_LOG (its
#              saved output: a GPU host without a package registry runs it
#              from its bundle, see docs/testing.md)
#   apps       `make apps`' table, from APPS_LOG
#   conformance  `make conformance`'s counts, from CONFORMANCE_LOG
# PARTS="bench tenants" picks the parts run here (default: both); a part
# whose log is not given says so on the page. QUICK=1 runs the bench short.
# HOST=NAME and OUT=FILE override the page's name and path. With PARTS=""
# and a GPU_CHECK_LOG, the page describes the host that log names (its
# "== host:" line): the page of a GPU host, written where the suite was
# bundled; COMMIT then names the commit the bundle was built from.
set -euo pipefail

build=$(cd "${1:?usage: scripts/results.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
parts=${PARTS-bench tenants}
host_icd=${HOST_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}

device=$(VK_ICD_FILENAMES=$host_icd VK_DRIVER_FILES=$host_icd timeout 60 vulkaninfo --summary 2>/dev/null |
           sed -nE 's/^[[:space:]]*deviceName[[:space:]]*= (.*)$/\1/p' | head -n1)
driver=$(VK_ICD_FILENAMES=$host_icd VK_DRIVER_FILES=$host_icd timeout 60 vulkaninfo --summary 2>/dev/null |
           sed -nE 's/^[[:space:]]*driverInfo[[:space:]]*= (.*)$/\1/p' | head -n1)
cpu="$(lscpu 2>/dev/null | sed -nE 's/^Model name:[[:space:]]*//p' | head -n1), $(nproc) CPUs"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
# == host: DEVICE, DRIVER, N CPUs, KERNEL, ICD JSON, DATE
gpu_host=$([ -z "$parts" ] && [ -f "${GPU_CHECK_LOG:-}" ] && sed -n 's/^== host: //p' "$GPU_CHECK_LOG" | head -n1 || true)
if [ -n "$gpu_host" ]; then
  IFS=, read -r device driver cpu _ _ when <<<"$gpu_host"
  device=${device# } driver=${driver# } cpu=${cpu# } when=${when# }
fi
if [ -z "${HOST:-}" ]; then
  case "$device" in
    llvmpipe*) HOST=lavapipe ;;
    # "NVIDIA H100 80GB HBM3 x4" (gpu-check's host of four): nvidia-h100-x4.
    NVIDIA*) HOST=nvidia-$(echo "$device" | awk '{print tolower($2)}')$(echo "$device" | sed -nE 's/.* x([0-9]+)$/-x\1/p') ;;
    *) HOST=$(echo "${device:-unknown}" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-') ;;
  esac
fi
page=${OUT:-$top/docs/results/$HOST.md}
mkdir -p "$(dirname "$page")"
work=$(mktemp -d "${TMPDIR:-/tmp}/venus-results.XXXXXX")
trap 'rm -rf "$work"' EXIT

mesa_of() { dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || echo unknown; }
sid_mesa() {
  local root
  root=$("$top/scripts/debian-root.sh" sid 2>/dev/null || true)
  [ -n "$root" ] && [ -f "$root/var/lib/dpkg/status" ] &&
    awk '/^Package: mesa-vulkan-drivers$/ {p=1} p && /^Version:/ {print $2; exit}' "$root/var/lib/dpkg/status"
}

# Each part writes its section into $work/PART.md.
part_bench() {
  echo "## Bench (\`bench/run.sh\`${QUICK:+, QUICK=1})"
  echo
  if QUICK=${QUICK:-} CHART=0 HOST_ICD=$host_icd "$top/bench/run.sh" "$build" >"$work/bench.log" 2>&1; then
    sed -n '/^|/p' "$top/bench/out/latest/table.md"
  else
    echo "bench/run.sh failed: $(tail -n1 "$work/bench.log")"
  fi
}

part_tenants() {
  echo "## Tenants (\`bench/tenants.sh\`)"
  echo
  if HOST_ICD=$host_icd "$top/bench/tenants.sh" "$build" >"$work/tenants.log" 2>&1; then
    echo '```'
    grep -E '^(==|   )' "$work/tenants.log"
    echo '```'
  else
    echo "bench/tenants.sh failed: $(tail -n1 "$work/tenants.log")"
  fi
}

part_vm_paths() {
  echo "## VM paths (\`bench/vm-paths.sh\`)"
  echo
  if HOST_ICD=$host_icd "$top/bench/vm-paths.sh" "$build" >"$work/vm-paths.log" 2>&1; then
    sed -n '/^Host driver/p; /^|/p' "$top/bench/out/vm-paths-latest.md"
  else
    echo "bench/vm-paths.sh failed: $(tail -n1 "$work/vm-paths.log")"
  fi
}

# A section from a saved log: LABEL, the variable naming it, a filter.
from_log() {
  local title=$1 var=$2 filter=$3 log=${!2:-}
  echo "## $title"
  echo
  if [ -n "$log" ] && [ -f "$log" ]; then
    echo '```'
    # gpu-check prints each row, then all of them again after its summary.
    if grep -q '^== summary' "$log"; then
      grep -m1 '^== host:' "$log" || true
      sed -n '/^== summary/,$p' "$log" | grep -E "$filter" | grep -v '^== summary'
    else
      { grep -E "$filter" "$log" || echo "(no line of it matched: $filter)"; } | tail -n 80
    fi
    echo '```'
  else
    echo "Not in this run ($var names the saved output of its command)."
  fi
}

{
  echo "# Results: $HOST"
  echo
  echo "Written whole by \`make results\` (\`scripts/results.sh\`); do not edit."
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| date | $when |"
  echo "| commit | ${COMMIT:-$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)} |"
  echo "| host driver | ${device:-unknown}, ${driver:-unknown} |"
  if [ -n "$gpu_host" ]; then
    # The bundle carries this machine's Mesa, and sid's where it has guest26.
    echo "| guest Mesa | $(mesa_of) (Debian 12 backports)$(grep -q '^== guest26' "$GPU_CHECK_LOG" && v=$(sid_mesa) && [ -n "$v" ] && echo ", $v (sid)") |"
  else
    echo "| guest Mesa | $(mesa_of) (Debian 12 backports)$(v=$(sid_mesa); [ -n "$v" ] && echo ", $v (sid)") |"
  fi
  echo "| CPU | $cpu |"
  echo
  for p in $parts; do
    "part_${p//-/_}"
    echo
  done
  case " $parts " in
    *" vm-paths "*) ;;
    *) from_log "VM paths (\`bench/vm-paths.sh\`)" VM_PATHS_LOG '^\||^Host driver'; echo ;;
  esac
  from_log "Test suite (\`make test\`)" TEST_LOG '^=== summary|^FAIL|^failed:'
  echo
  from_log "GPU checks (\`scripts/gpu-check.sh\`)" GPU_CHECK_LOG '^== '
  echo
  # make apps' per-frame timeline: its header, a row per program or scene, the score.
  from_log "Programs (\`make apps\`)" APPS_LOG '^(app / scene +native|(\[[a-z0-9]+\]( [a-z0-9=.-]+)?|vkcube|glxgears-zink|vkd3d-gears|mpv|ffmpeg[a-z0-9-]*) +[0-9]|vkmark score)'
  echo
  from_log "Conformance (\`make conformance\`)" CONFORMANCE_LOG 'pass|fail|skip|summary'
} >"$work/page.md"
mv "$work/page.md" "$page"
echo "results: $page"
