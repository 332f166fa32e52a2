# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "vm-paths" of scripts/gpu-check.sh (sourced after the set-up; needs
# the VM parts and vm-vhost.tar.xz, SKIP without them; Chromium's parts
# for the commit->drawn column):
#   vm-paths         bench/vm-paths.sh on the host driver: the test guest
#                    under TCG with venus-server --vhost-user as its whole
#                    virtio-gpu (sid's QEMU 11.1 from vm-vhost.tar.xz), then
#                    with the render server and the VM channel (trixie's
#                    QEMU 10 from vm-host.tar.xz), at VM_PATHS_SIZE
#                    (1024x768), numbered frames live for VM_PATHS_SECONDS
#                    (45), Chromium watching 20 s: render_bench frame time,
#                    commit->encoded, commit->drawn, and whether every
#                    recorded frame is whole and in order (check_stream.py:
#                    PASS when both paths' recordings show 0 problems). The
#                    table is vm-paths.md in the logs, each run's logs in
#                    vm-paths/.

if ! vm_unpack; then
  result vm-paths SKIP "$VM_SKIP"
elif ! vm_vhost_unpack; then
  result vm-paths SKIP "$VM_VHOST_SKIP"
else
  chromium=""
  if chromium_unpack; then chromium=$prefix/chromium-run; else echo "   vm-paths: $CHROMIUM_SKIP: no commit->drawn column"; fi
  : >"$prefix/vm-paths.start"
  t0=$SECONDS
  # The channel path's QEMU 10 from the bundle, its server on the host driver.
  channel_options="--host-bundle $vm_host --host-icd $HOST_ICD"
  HOST_ICD=$HOST_ICD CHROMIUM=$chromium SIZE=${VM_PATHS_SIZE:-1024x768} LIVE_SECONDS=${VM_PATHS_SECONDS:-45} \
    BROWSER_SECONDS=20 VU_QEMU_BUNDLE=$vm_vhost VU_IMAGE=$prefix/vm-guest VM_RUN_OPTIONS=$channel_options \
    timeout -k 10 1500 "$top/bench/vm-paths.sh" "$build" >"$logs/vm-paths.out" 2>&1; rc=$?
  # This run's report and its logs (the browsers' profiles left out).
  # (-type f: not vm-paths-latest.md, the link to it)
  report=$(find "$top/bench/out" -maxdepth 1 -type f -name 'vm-paths-*.md' -newer "$prefix/vm-paths.start" 2>/dev/null | head -n1)
  if [ -n "$report" ]; then
    cp "$report" "$logs/vm-paths.md"
    sed 's/^/   /' "$logs/vm-paths.md"
    mkdir -p "$logs/vm-paths"
    (cd "${report%.md}" && tar -cf - --exclude='./profile-*' --exclude='./rt' .) | tar -C "$logs/vm-paths" -xf -
  fi
  grep -E '^ +vm-paths: (device|channel):' "$logs/vm-paths.out" | sed 's/^ */   /'
  # The frames column (check_stream.py's line) of both rows.
  frames=$(awk -F' *[|] *' '/^[|] (vhost-user device|render server)/ {print $6}' "$logs/vm-paths.md" 2>/dev/null)
  whole=$(grep -cE '^[1-9][0-9]* frames decoded.*, 0 problems$' <<<"$frames")
  if [ $rc -eq 0 ] && [ "$whole" = 2 ]; then
    result vm-paths PASS "both paths under TCG, every recorded frame whole and in order: $(tr '\n' ';' <<<"$frames" | sed 's/;$//; s/;/; /g'); $((SECONDS - t0)) s"
  else
    result vm-paths FAIL "rc $rc, $whole of 2 recordings whole: $(tr '\n' ';' <<<"${frames:-no table}" | sed 's/;$//'); see vm-paths.out and vm-paths/"
  fi
fi
