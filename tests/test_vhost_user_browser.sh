#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two VMs' screens live in two browsers: the project's test guest under
# the sid root's QEMU 11.1 (tests/lib_vhost_user.sh) on `venus-server
# --vhost-user ... --vhost-user-input ... --vm-scanouts 2 --display --http
# 127.0.0.1:0 --http-cert ... --http-key ... --input --record` (the page
# over https, a test CA's certificate: tests/lib.sh test_certs), and a
# second VM, a fake VMM (tests/vhost_user/fake_vmm.py --vm: a GPU device
# of 2 scanouts and an input device) on the same sockets. In the guest
# (tests/vm/init, workload device-live) a KMS client flips Venus-rendered
# numbered frames on the device's scanout (tests/vm/kms_frames.c --live)
# until Escape comes from an input device. Once the guest says the client
# starts, Chromium (viewer 1) opens the page of its VM's scanout 0 (the
# URL the server logged for output vm-1; the guest's console shows on
# its second head too, vm-1.1) (tests/display/cdp_view.py latency-escape:
# commit->drawn over 45 s), then
# clicks "size VM" and presses Escape in the page. Meanwhile the second
# VM connects, flushes and ends, then comes back at another size, and a
# second Chromium (viewer 2, cdp_view.py all) opens the page of all its
# outputs with its token; the VM shows its second scanout once the page
# shows the first, and viewer 2 presses Escape in the first.
# Checks: Chromium drew frames; the cursor the client sets (64x64,
# hotspot 3,4) became the page's pointer; the page's "size VM" became the
# guest connector's preferred mode; the page watched the QEMU VM's output
# throughout; the client ended on Escape (the page's key reached the
# guest through the VM's virtio-input device); the QEMU VM's recording
# holds the client's frames whole and in order; viewer 2 showed the second
# VM's scanouts side by side at their sizes, the second added when the
# server said the VM's outputs changed; its Escape reached the second VM's
# input device and not the guest, viewer 1's not the second VM; one VM's
# token neither lists nor opens the other's outputs (a 403, one line
# each), a scanout's own token lists nothing; the device refused nothing
# else. Figures (notes, not checks): Chromium's commit->drawn and the
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
if posix_build; then
  skip "-Dos=posix build: test_vhost_user_qemu runs the device there"
  finish
fi
vu_prepare
export XDG_RUNTIME_DIR=$TEST_TMP/rt
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
record=$TEST_TMP/rec-%o.h264
# Over TLS, as a viewer off this host would watch: a test CA's
# certificate, which Chromium is told to trust.
test_certs "$TEST_TMP/certs" || finish
vu_server_start --vm-size 1024x768 --vm-scanouts 2 --display vs-vhost-browser --http 127.0.0.1:0 --input --record "$record" \
  --http-cert "$TEST_TMP/certs/server.pem" --http-key "$TEST_TMP/certs/server.key"

# A request over the test CA's TLS: its status, and for a list of outputs
# their names.
get() {
  python3 -c 'import ssl, sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[2], context=ssl.create_default_context(cafile=sys.argv[1]), timeout=10)
    print(r.status, *[l.split(" ")[0] for l in r.read().decode().splitlines() if "/outputs" in sys.argv[2]])
except urllib.error.HTTPError as e:
    print(e.code)' "$TEST_TMP/certs/ca.pem" "$1" 2>&1 | tail -n 1
}
# The URL of a VM's scanout 0's output (its token the VM's), the Nth logged.
vm_url() {
  sed -nE "s|.*display: output vm-[0-9]+ \(VM device [0-9]+'s scanout\): viewer page at (https://[^ ]+)\$|\1|p" \
    "$TEST_TMP/device.log" | sed -n "$1p"
}
export CDP_CHROMIUM_ARGS="--ignore-certificate-errors-spki-list=$TEST_SPKI"
# The browsers and the second VM, on the guest's cue.
(
  deadline=$((SECONDS + 300))
  until grep -aq '^VMTEST kms starting' "$work/hvc.log" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  url=$(grep -aohE 'https://[^ ]+token=[^ ]+' "$TEST_TMP/device.out" 2>/dev/null | head -n1)
  [ -n "$url" ] || { echo "no https viewer URL in the server's output" >"$TEST_TMP/browser.out"; exit 0; }
  # Viewer 1: the QEMU VM's scanout 0, at the URL logged for it (the
  # guest's second head, which its console shows, is an output too).
  for _ in $(seq 100); do [ -n "$(vm_url 1)" ] && break; sleep 0.1; done
  PYTHONUNBUFFERED=1 timeout -k 5 240 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile" "$(vm_url 1)" \
    latency-escape 45 5 "$TEST_TMP/kms.png" >"$TEST_TMP/browser.out" 2>&1 || echo "cdp_view status $?" >>"$TEST_TMP/browser.out" &
  viewer1=$!
  for _ in $(seq 600); do grep -q 'display: viewer [0-9]* connected' "$TEST_TMP/device.log" && break; sleep 0.1; done
  # The second VM connects, flushes and ends; then comes back at another
  # size, its second scanout on viewer 2's cue.
  vmm=$TESTS_DIR/vhost_user/fake_vmm.py
  timeout 30 python3 "$vmm" --vm "$work/gpu.sock" "$work/input.sock" "$TEST_TMP/vm2-first.out" 2 96x64 \
    >"$TEST_TMP/vm2-first.log" 2>&1
  python3 "$vmm" --vm "$work/gpu.sock" "$work/input.sock" "$TEST_TMP/vm2.out" 200 64x48 "$TEST_TMP/cue" \
    >"$TEST_TMP/vm2.log" 2>&1 &
  vm2=$!
  for _ in $(seq 300); do [ -n "$(vm_url 3)" ] && break; sleep 0.1; done
  url1=$(vm_url 1) url2=$(vm_url 3)
  # Viewer 2: the second VM's outputs, with its token.
  timeout -k 5 120 python3 "$TESTS_DIR/display/cdp_view.py" "$CHROMIUM" "$TEST_TMP/profile2" "$url2&all=1" all \
    "$TEST_TMP/cue" "$TEST_TMP/all.png" >"$TEST_TMP/all.out" 2>&1 || echo "cdp_view status $?" >>"$TEST_TMP/all.out"
  # Its Escape is the second VM's: 5 s on, the guest's client still runs
  # (it ends on Escape), before viewer 1 pressed its own.
  sleep 5
  {
    grep -aq 'kms_frames: Escape from an input device' "$work/hvc.log" && echo "the guest's client ended" ||
      echo "the guest's client runs"
    grep -q '^pressed Escape' "$TEST_TMP/browser.out" && echo "viewer 1 pressed Escape" || echo "viewer 1 waits"
  } >"$TEST_TMP/escape2.out"
  # One VM's token and the other's outputs.
  base=${url%%/\?*} out1=$(sed -nE 's/.*output=([^&]+).*/\1/p' <<<"$url1") out2=$(sed -nE 's/.*output=([^&]+).*/\1/p' <<<"$url2")
  token1=${url1##*token=} token2=${url2##*token=}
  token21=$(sed -nE "s|.*display: output $out2\.1 .*token=([^ ]+)\$|\1|p" "$TEST_TMP/device.log" | tail -n 1)
  {
    echo "names $out1 $out2"
    echo "list1 $(get "$base/outputs?output=$out1&token=$token1")"
    echo "list2 $(get "$base/outputs?output=$out2&token=$token2")"
    echo "list2-by1 $(get "$base/outputs?output=$out2&token=$token1")"
    echo "page21-by1 $(get "$base/?output=$out2.1&token=$token1")"
    echo "list-by21 $(get "$base/outputs?output=$out2.1&token=$token21")"
  } >"$TEST_TMP/cross.out"
  wait "$viewer1"
  # Viewer 1's Escape had time to reach the second VM, were it let.
  sleep 2
  kill -TERM "$vm2" 2>/dev/null
  wait "$vm2"
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
check "the page watched the QEMU VM's scanout 0 throughout, named in its URL ($(sed -n 's/^page output: //p' "$TEST_TMP/browser.out"))" \
  grep -qE '^page output: vm-1, its URL .*output=vm-1(&|$)' "$TEST_TMP/browser.out"
vm_step_check kms "the KMS client ran until the page's Escape reached the guest ($(grep -o 'kms_frames: [0-9]* Venus frames' "$log" | sed 's/kms_frames: //'))" \
  grep -q 'kms_frames: Escape from an input device' "$log"
# A viewer that falls behind is sent the shown frame again as a key
# frame, and the recording gets it too: a frame may follow itself, never
# an older one.
out=""
record=$TEST_TMP/rec-$(sed -n 's/^page output: \([^,]*\),.*/\1/p' "$TEST_TMP/browser.out").h264
if out=$(CHECK_STREAM_TRIM=1 CHECK_STREAM_REPEATS=1000000 python3 "$TESTS_DIR/display/check_stream.py" numbers "$record" 1024 768 30 2>&1); then
  pass "the recording holds the client's frames whole and in order: $out"
else
  fail "the recording of the client's frames: ${out:-no recording}"
fi

# The second VM and viewer 2.
cross() { sed -n "s/^$1 //p" "$TEST_TMP/cross.out"; }
read -r out1 out2 <<<"$(cross names)"
check "the second VM connected, flushed and ended, then came back ($(tr '\n' ' ' <"$TEST_TMP/vm2-first.out"))" \
  grep -qx done "$TEST_TMP/vm2-first.out"
check "viewer 2 showed the second VM's scanout 0 alone first: $(sed -n 's/^all, first: //p' "$TEST_TMP/all.out")" \
  grep -qE "^all, first: $out2 64x48 " "$TEST_TMP/all.out"
then_=$(sed -n 's/^all, then: //p' "$TEST_TMP/all.out")
check "then both scanouts side by side at their sizes, the second once the server said the VM's outputs changed: $then_" \
  grep -qE "^$out2 64x48 \([0-9]+ frames, 0 errors\) $out2\.1 32x24 \([0-9]+ frames, 0 errors\); list read ([2-9]|[1-9][0-9]+) times, 0 errors" \
  <<<"$then_"
check "viewer 2's Escape reached the second VM's input device once, viewer 1's never ($(grep -cx '1 1 1' "$TEST_TMP/vm2.out") Escape down)" \
  test "$(grep -cx '1 1 1' "$TEST_TMP/vm2.out")" -eq 1 -a "$(grep -cx '1 1 0' "$TEST_TMP/vm2.out")" -eq 1
check "  ... and not the QEMU guest ($(tr '\n' ',' <"$TEST_TMP/escape2.out"))" \
  test "$(tr '\n' ',' <"$TEST_TMP/escape2.out")" = "the guest's client runs,viewer 1 waits,"
check "the QEMU VM's token lists its outputs alone ($(cross list1))" grep -qxE "200 $out1( $out1\.1)?" <(cross list1)
check "the second VM's token lists its two ($(cross list2))" test "$(cross list2)" = "200 $out2 $out2.1"
check "the QEMU VM's token does not list the second VM's outputs ($(cross list2-by1))" test "$(cross list2-by1)" = 403
check "  ... nor open its scanout 1's page ($(cross page21-by1))" test "$(cross page21-by1)" = 403
check "a scanout's own token lists no outputs ($(cross list-by21))" test "$(cross list-by21)" = 403
for what in "the outputs of output $out2" "the page of output $out2.1" "the outputs of output $out2.1"; do
  check "  ... refused with one line: $what" \
    test "$(grep -cF "refusing viewer from 127.0.0.1 ($what): wrong token" "$dlog")" -eq 1
done

check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" |
  grep -vE 'refusing viewer from 127.0.0.1 \(the (outputs|page) of output [^ ]+\): wrong token' || true)
if [ -z "$refused" ]; then pass "the devices refused nothing"; else
  fail "the devices logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
note "device 1024x768: ${page:-no browser figures}"
note "device 1024x768: $(grep -E 'display stream:.*; output vm-1$' "$dlog" | tail -n1 | sed 's/.*info: //')"
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/browser.out" 10
  show_tail "$TEST_TMP/all.out" 10
  show_tail "$dlog" 15
fi
finish
