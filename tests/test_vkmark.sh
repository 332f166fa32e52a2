#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vkmark (trixie only) through venus-server: `vkmark --winsys headless` runs
# every default scene and prints a score. Its headless window system still
# asks for VK_KHR_swapchain, which Mesa offers only thanks to the server's
# own capabilities (src/renderer/caps/). Needs the trixie root that `make apps` and
# `make bench` build (scripts/trixie-root.sh); skipped without it. vkmark
# runs in the root through scripts/in-root.sh; afterwards nothing may stay
# mounted under the checkout. Then one scene with the fast present against a
# server logging every host submission: no empty submission may signal a
# WSI acquire semaphore (the server marks it; renderer/sync/sync_fd.h).
. "$(dirname "$0")/lib.sh"

top=$(cd "$TESTS_DIR/.." && pwd)
root=${TRIXIE_ROOT:-$top/.deps/trixie-root}
if [ ! -x "$root/usr/bin/vkmark" ]; then
  skip "no trixie root with vkmark at $root: run 'make apps' (or scripts/trixie-root.sh) to build it"
  finish
fi
root=$(cd "$root" && pwd)

# The socket lives inside the root, where the client can reach it.
sock_dir=$(mktemp -d "$root/tmp/vs-vkmark.XXXXXX")
SERVER_SOCK=$sock_dir/venus.sock
server_start_at "$SERVER_SOCK" --log-level info || finish

rc=0
"$top/scripts/in-root.sh" "$root" env VN_DEBUG=vtest VTEST_SOCKET_NAME="${SERVER_SOCK#"$root"}" \
  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json \
  timeout -k 5 120 vkmark --winsys headless -s 320x240 -b :duration=0.5 >"$TEST_TMP/vkmark.out" 2>&1 || rc=$?
scenes=$(grep -cE '^\[[a-z0-9]+\].*FPS: [0-9]+' "$TEST_TMP/vkmark.out" || true)
score=$(sed -nE 's/.*vkmark Score: ([0-9]+).*/\1/p' "$TEST_TMP/vkmark.out")
if [ "$rc" -eq 0 ] && [ "$scenes" -ge 13 ] && [ -n "$score" ] && [ "$score" -gt 0 ]; then
  pass "vkmark --winsys headless: $scenes scenes, score $score"
else
  fail "vkmark: $(describe_rc "$rc"), $scenes scene line(s), score '${score:-none}'"
  show_tail "$TEST_TMP/vkmark.out"
  show_tail "$SERVER_LOG"
fi

check_no_errors
check_no_drops

server_stop || true

# The fast present, with the server logging every host submission: the WSI
# signals each frame's acquire semaphore from the CPU, which the server
# only marks (no empty host submission, renderer/sync/sync_fd.h), and the present's
# batch that only waits for the ring is deferred, not waited for at once.
SERVER_SOCK=$sock_dir/venus-debug.sock
server_start_at "$SERVER_SOCK" --log-level debug || finish
rc=0
"$top/scripts/in-root.sh" "$root" env VN_DEBUG=vtest VTEST_SOCKET_NAME="${SERVER_SOCK#"$root"}" \
  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/virtio_icd.json venus_implicit_fencing=true \
  timeout -k 5 120 vkmark --winsys headless -s 320x240 -b clear:duration=0.5 >"$TEST_TMP/vkmark-fast.out" 2>&1 || rc=$?
fps=$(sed -nE 's/^\[clear\].*FPS: ([0-9]+).*/\1/p' "$TEST_TMP/vkmark-fast.out")
batches=$(log_count 'vkQueueSubmit batch')
signals=$(log_count 'empty submit on host queue .* signalling')
if [ "$rc" -eq 0 ] && [ "${fps:-0}" -gt 0 ] && [ "$batches" -gt 0 ] && [ "$signals" -eq 0 ]; then
  pass "vkmark clear, fast present: ${fps} FPS, $batches host batches logged, no empty submission for the acquire semaphores"
else
  fail "vkmark clear, fast present: $(describe_rc "$rc"), FPS '${fps:-none}', $batches batches, $signals empty signalling submissions (want 0)"
  show_tail "$TEST_TMP/vkmark-fast.out"
fi
check_no_errors
check_no_drops
server_stop || true
rm -rf "$sock_dir"
check_no_mounts "$top" "after vkmark ran in the root"
check_no_mounts "$root" "after vkmark ran in the root"
finish
