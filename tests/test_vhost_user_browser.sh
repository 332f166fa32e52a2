#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The vhost-user device's scanout live in a browser: the project's test
# guest under the sid root's QEMU 11.1 (tests/lib_vhost_user.sh) on
# `venus-server --vhost-user ... --vhost-user-input ... --display --http
# 127.0.0.1:0 --http-cert ... --http-key ... --input --record` (the page
# over https, a test CA's certificate: tests/lib.sh test_certs). In the guest (tests/vm/init, workload
# device-live) a KMS client flips Venus-rendered numbered frames on the
# device's scanout (tests/vm/kms_frames.c --live) until Escape comes from
# an input device. Once the guest says the client starts, Chromium opens
# the page the server logged (tests/display/cdp_view.py latency-escape:
# commit->drawn over 20 s), then clicks "size VM" and presses Escape in
# the page.
# Checks: Chromium drew frames; the cursor the client sets (64x64,
# hotspot 3,4) became the page's pointer; the page's "size VM" became the
# guest connector's preferred mode; the client ended on Escape (the page's key
# reached the guest through the VM's virtio-input device); the recording
# holds the client's frames whole and in order; the device refused
# nothing. Figures (notes, not checks): Chromium's commit->drawn and the
# server's commit->encoded.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

require_tools python3 ffmpeg ffprobe openssl
if ! "$SERVER_BIN" --help | grep -c -- '--display' >/dev/null; then skip "a build without the display"; finish; fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { skip "chromium is not installed (Debian package chromium; run scripts/setup.sh)"; finish; }
# The guest and the page, not the OS layer: test_vhost_user_qemu covers
# the device on the -Dos=posix build.
if grep -q '"name": "os", "value": "posix"' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null; then
  skip "-Dos=posix build: test_vhost_user_qemu runs the device there"
  finish
fi
vu_prepare
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
record=$TEST_TMP/vhost.h264
# Over TLS, as a viewer off this host would watch: a test CA's
# certificate, which Chromium is told to trust.
test_certs "$TEST_TMP/certs" || finish
vu_server_start --vm-size 1024x768 --display vs-vhost-browser --http 127.0.0.1:0 --input --record "$record" \
  --http-cert "$TEST_TMP/certs/server.pem" --http-key "$TEST_TMP/certs/server.key"

# The browser, on the guest's cue.
(
  deadline=$((SECONDS + 300))
  until grep -aq '^VMTEST kms starting' "$work/hvc.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  url=$(grep -aohE 'https://[^ ]+token=[^ ]+' "$TEST_TMP/device.out" 2>/dev/null | head -n1)
  [ -n "$url" ] || { echo "no https viewer URL in the server's output" >"$TEST_TMP/browser.out"; exit 0; }
  CDP_CHROMIUM_ARGS="--ignore-certificate-errors-spki-list=$TEST_SPKI" timeout -k 5 240 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile" "$url" latency-escape 20 5 \
    "$TEST_TMP/kms.png" >"$TEST_TMP/browser.out" 2>&1 || echo "cdp_view status $?" >>"$TEST_TMP/browser.out"
) &
browser=$!
BG_PIDS+=("$browser")
vu_boot 480 vmtest=device-live
wait "$browser" 2>/dev/null || true
vu_server_stop
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "QEMU ran the guest to power-off (status $rc)" test "$rc" -eq 0
check "the server logged the page's https URL" grep -qaE 'https://127\.0\.0\.1:[0-9]+/\?token=' "$TEST_TMP/device.out"
page=$(grep -E '^browser: [0-9]+ s after' "$TEST_TMP/browser.out" 2>/dev/null || true)
if [ -n "$page" ] && grep -q '^pressed Escape' "$TEST_TMP/browser.out"; then
  pass "Chromium drew the guest's KMS frames live: ${page#browser: }"
else
  fail "the browser view of the device's scanout: $(tr '\n' ' ' <"$TEST_TMP/browser.out" 2>/dev/null | tail -c 400)"
fi
check "the guest's KMS cursor became the page's pointer ($(sed -n 's/^page cursor: //p' "$TEST_TMP/browser.out"))" \
  grep -q '^page cursor: 64x64 at 3,4 ' "$TEST_TMP/browser.out"
asked=$(sed -n 's/^page asked the VM for //p' "$TEST_TMP/browser.out")
mode=$(sed -n 's/^VMTEST mode //p' "$log" | head -n 1)
check "the page's \"size VM\" became the guest's preferred mode (asked ${asked:-nothing}, the guest's KMS: ${mode:-none})" \
  test -n "$asked" -a "$asked" = "$mode"
check "the page opened without an output watches the VM's, and names it in its URL ($(sed -n 's/^page output: //p' "$TEST_TMP/browser.out"))" \
  grep -qE '^page output: (vm-[0-9]+), its URL .*output=\1' "$TEST_TMP/browser.out"
vm_step_check kms "the KMS client ran until the page's Escape reached the guest ($(grep -o 'kms_frames: [0-9]* Venus frames' "$log" | sed 's/kms_frames: //'))" \
  grep -q 'kms_frames: Escape from an input device' "$log"
# A viewer that falls behind is sent the shown frame again as a key
# frame, and the recording gets it too: a frame may follow itself, never
# an older one.
out=""
if out=$(CHECK_STREAM_TRIM=1 CHECK_STREAM_REPEATS=1000000 python3 "$TESTS_DIR/display/check_stream.py" numbers "$record" 1024 768 30 2>&1); then
  pass "the recording holds the client's frames whole and in order: $out"
else
  fail "the recording of the client's frames: ${out:-no recording}"
fi
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" || true)
if [ -z "$refused" ]; then pass "the devices refused nothing"; else
  fail "the devices logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
note "device 1024x768: ${page:-no browser figures}"
note "device 1024x768: $(grep -E 'display stream:' "$dlog" | tail -n1 | sed 's/.*info: //')"
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/browser.out" 10
  show_tail "$dlog" 15
fi
finish
