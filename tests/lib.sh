# SPDX-License-Identifier: MIT
# Shared helpers for tests/test_*.sh. Source it after setting nothing:
#
#   . "$(dirname "$0")/lib.sh"      # reads $1 = build dir, $2 = private temp dir
#
# Results: pass/fail/skip print one line each ("PASS name: why"); a test ends
# with `finish`, which exits 1 if anything failed. Every Venus client runs
# under `timeout`: Mesa's vtest client spins at 100% CPU forever when the
# server closes its connection.

set -Eeuo pipefail
# A command failing where the test did not expect it ends the test; say where.
# Only in the test's own shell (not in background jobs or $(...)), and on
# stderr so that no command substitution can swallow it.
LIB_MAIN_PID=$$
lib_on_err() {
  [ "$BASHPID" = "$LIB_MAIN_PID" ] || return 0
  printf 'FAIL %s: internal error: line %s: %s (status %s)\n' "$(basename "$0" .sh)" "$2" "$3" "$1" >&2
}
trap 'lib_on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
BUILD_DIR=${1:?usage: $0 BUILD_DIR [TMP_DIR]}
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
if [ -n "${2:-}" ]; then
  TEST_TMP=$2
  mkdir -p "$TEST_TMP"
else
  TEST_TMP=$(mktemp -d "/tmp/vs-$TEST_NAME.XXXXXX")
fi
SERVER_BIN=$BUILD_DIR/venus-server

VIRTIO_ICD=${VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
LVP_ICD=${LVP_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
# Seconds one Venus client may run before it is presumed stuck.
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-60}
# Sanitizer builds: report, do not abort, so the log check below sees it.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

N_PASS=0
N_FAIL=0
N_SKIP=0

pass() { N_PASS=$((N_PASS + 1)); printf 'PASS %s: %s\n' "$TEST_NAME" "$*"; }
fail() { N_FAIL=$((N_FAIL + 1)); printf 'FAIL %s: %s\n' "$TEST_NAME" "$*"; }
skip() { N_SKIP=$((N_SKIP + 1)); printf 'SKIP %s: %s\n' "$TEST_NAME" "$*"; }
# posix_build: true on the -Dos=posix build (the macOS code paths).
posix_build() { grep -q '"name": "os", "value": "posix"' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null; }
# covered_on_posix_by TEST WHY: on the -Dos=posix build, a test whose
# subject is no OS layer's ends here, skipped: TEST runs that layer's paths.
covered_on_posix_by() {
  posix_build || return 0
  skip "-Dos=posix build: $2 is no OS layer's; $1 runs this backend's paths"
  finish
}
note() { printf '     %s: %s\n' "$TEST_NAME" "$*"; }

# check COND-DESCRIPTION COMMAND...: PASS if the command succeeds, else FAIL.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# Exit with the test's verdict.
finish() {
  if [ "$N_FAIL" -gt 0 ]; then exit 1; fi
  exit 0
}

# Skip the whole test (counts as SKIP, exit 0) unless the tools exist.
require_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { skip "$t is not installed (run scripts/setup.sh)"; finish; }
  done
  [ -f "$VIRTIO_ICD" ] || { skip "no Venus guest driver at $VIRTIO_ICD (mesa-vulkan-drivers 25 from bookworm-backports)"; finish; }
  [ -f "$LVP_ICD" ] || { skip "no lavapipe at $LVP_ICD"; finish; }
  [ -x "$SERVER_BIN" ] || { fail "no server binary at $SERVER_BIN (run make)"; finish; }
}

# Tail of a file, indented, for failure context.
show_tail() {
  local file=$1 n=${2:-20}
  [ -s "$file" ] || return 0
  note "last lines of $(basename "$file"):"
  tail -n "$n" "$file" | sed 's/^/         | /'
}

# --- the server ---------------------------------------------------------------

SERVER_PID=""
SERVER_SOCK=""
SERVER_LOG=""   # its stderr
SERVER_OUT=""   # its stdout
SERVER_N=0

# Extra venus-server arguments for every server a test starts (word-split),
# before the test's own, which win: `make test-posix` runs the suite with
# SERVER_ARGS="--page-size 16384".
read -ra SERVER_EXTRA_ARGS <<<"${SERVER_ARGS:-}"

# server_start [server args...]: start venus-server with lavapipe as the host
# driver on a private socket; wait (up to $SERVER_START_TIMEOUT s) for its
# "listening on PATH" line. Returns 1 (after a FAIL line) if it does not come up.
# SIGPIPE is reset to its default: the server must not rely on an inherited
# ignore (each client socket suppresses SIGPIPE itself).
server_start() {
  server_start_at "$TEST_TMP/venus-$((SERVER_N + 1)).sock" "$@"
}

# server_start_at SOCKET_PATH [server args...]: the same on a given path.
server_start_at() {
  SERVER_N=$((SERVER_N + 1))
  SERVER_SOCK=$1; shift
  SERVER_LOG=$TEST_TMP/server-$SERVER_N.log
  SERVER_OUT=$TEST_TMP/server-$SERVER_N.out
  : >"$SERVER_LOG"; : >"$SERVER_OUT"
  env --default-signal=PIPE -u VN_DEBUG -u VTEST_SOCKET_NAME VK_ICD_FILENAMES="$LVP_ICD" \
    "$SERVER_BIN" --socket "$SERVER_SOCK" "${SERVER_EXTRA_ARGS[@]}" "$@" >"$SERVER_OUT" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  local deadline=$((SECONDS + ${SERVER_START_TIMEOUT:-15}))
  while [ $SECONDS -lt $deadline ]; do
    if grep -qF "venus-server: listening on $SERVER_SOCK" "$SERVER_OUT"; then
      if [ -S "$SERVER_SOCK" ]; then return 0; fi
      fail "server printed 'listening on' but $SERVER_SOCK is not a socket"
      return 1
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      local rc=0; wait "$SERVER_PID" || rc=$?
      SERVER_PID=""
      fail "server exited with status $rc before listening"
      show_tail "$SERVER_LOG"
      return 1
    fi
    sleep 0.05
  done
  if [ -S "$SERVER_SOCK" ]; then
    fail "socket $SERVER_SOCK exists but no 'venus-server: listening on $SERVER_SOCK' line on stdout (not flushed?)"
  else
    fail "server did not print 'listening on' within ${SERVER_START_TIMEOUT:-15}s"
  fi
  show_tail "$SERVER_LOG"
  server_kill
  return 1
}

server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

# Last resort, used by the EXIT trap: SIGKILL the server we started.
server_kill() {
  if [ -n "$SERVER_PID" ]; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# server_stop [SIGNAL]: send SIGTERM (or SIGNAL) and check a clean shutdown:
# exit status 0 within $SERVER_STOP_TIMEOUT s, socket file removed, no
# sanitizer report in the log. PASS/FAIL lines for each; returns 1 on any FAIL.
server_stop() {
  local sig=${1:-TERM} ok=0 rc=0
  if ! server_alive; then
    fail "server (pid ${SERVER_PID:-none}) was not running at shutdown (crashed?)"
    show_tail "$SERVER_LOG"
    [ -n "$SERVER_PID" ] && { wait "$SERVER_PID" 2>/dev/null || true; }
    SERVER_PID=""
    return 1
  fi
  kill -"$sig" "$SERVER_PID"
  local deadline=$((SECONDS + ${SERVER_STOP_TIMEOUT:-10}))
  while kill -0 "$SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    fail "server still running ${SERVER_STOP_TIMEOUT:-10}s after SIG$sig"
    show_tail "$SERVER_LOG"
    server_kill
    return 1
  fi
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  if [ "$rc" -eq 0 ]; then pass "server exited 0 on SIG$sig"; else fail "server exited $rc on SIG$sig"; ok=1; show_tail "$SERVER_LOG"; fi
  if [ -e "$SERVER_SOCK" ]; then fail "socket $SERVER_SOCK left behind after shutdown"; ok=1; else pass "socket file removed on shutdown"; fi
  if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$SERVER_LOG"; then
    fail "sanitizer report in the server log"
    grep -m5 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$SERVER_LOG" | sed 's/^/         | /' || true
    ok=1
  fi
  return $ok
}

# The display's page URL (with its ?token=) the last server printed (--http).
# test_certs DIR: a test CA (DIR/ca.pem) and a certificate for 127.0.0.1
# it signed (DIR/server.pem, DIR/server.key), made with openssl; sets
# $TEST_SPKI, the certificate's key hash that Chromium is told to trust
# (--ignore-certificate-errors-spki-list). Fails (logged) when openssl
# cannot.
test_certs() {
  local c=$1
  mkdir -p "$c"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$c/ca.key" \
      -out "$c/ca.pem" -days 2 -subj "/CN=venus-server test CA" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$c/server.key" \
      -out "$c/server.csr" -subj "/CN=127.0.0.1" &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$c/ext" &&
    openssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial -days 2 \
      -extfile "$c/ext" -out "$c/server.pem"
  } >"$c/openssl.log" 2>&1 || { fail "openssl could not make the test certificates"; show_tail "$c/openssl.log"; return 1; }
  TEST_SPKI=$(openssl x509 -in "$c/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
}

viewer_url() { sed -nE 's|^venus-server: viewer page at (http://[^ ]+)$|\1|p' "$SERVER_OUT"; }

# Count lines of the server log matching an extended regex.
log_count() { grep -cE "$1" "$SERVER_LOG" || true; }

# wait_log_count REGEX N [SECONDS]: wait until at least N log lines match.
wait_log_count() {
  local re=$1 n=$2 deadline=$((SECONDS + ${3:-10}))
  while [ "$(log_count "$re")" -lt "$n" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# Error lines (level error) in the server log, printed.
log_errors() { grep -E '^(worker process [0-9]+: )?venus-server: error:' "$SERVER_LOG" || true; }

# "context destroyed: R host objects released, L live in server" lines as
# "CTX R L", one per line, in log order.
destroyed_lines() {
  sed -nE 's/^(worker process [0-9]+: )?venus-server: info: ctx ([0-9]+): context destroyed: ([0-9]+) host objects released, ([0-9]+) live in server.*$/\2 \3 \4/p' "$SERVER_LOG"
}

# --- clients -------------------------------------------------------------------

# venus_run [timeout secs] -- CMD...: run a Vulkan program through the server.
venus_env() {
  env -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES \
    VN_DEBUG=vtest VTEST_SOCKET_NAME="$SERVER_SOCK" VK_ICD_FILENAMES="$VIRTIO_ICD" "$@"
}
venus_run() {
  local t=$CLIENT_TIMEOUT
  if [ "${1:-}" != "--" ] && [[ "${1:-}" =~ ^[0-9.]+$ ]]; then t=$1; shift; fi
  [ "${1:-}" = "--" ] && shift
  venus_env timeout -k 5 "$t" "$@"
}

# native_run CMD...: the same program on lavapipe directly.
native_run() {
  env -u VN_DEBUG -u VTEST_SOCKET_NAME -u VK_DRIVER_FILES -u VK_ADD_DRIVER_FILES \
    VK_ICD_FILENAMES="$LVP_ICD" timeout -k 5 "$CLIENT_TIMEOUT" "$@"
}

# Describe a client exit status.
describe_rc() {
  case $1 in
    0) echo "exit 0" ;;
    124) echo "timed out (status 124: stuck, e.g. spinning after the server closed it)" ;;
    137) echo "killed after the timeout (status 137)" ;;
    *) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"; else echo "exit $1"; fi ;;
  esac
}

VENUS_NAME_RE='Virtio-GPU Venus \(llvmpipe'

# Background children we must reap at exit (pids). Only our own.
BG_PIDS=()
# kill_tree PID: TERM a process and, first, its descendants (by parent pid).
kill_tree() {
  local child
  [[ $1 =~ ^[0-9]+$ ]] || return 0
  for child in $(pgrep -P "$1" 2>/dev/null || true); do kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null || true
}
lib_cleanup() {
  local p
  trap - ERR
  set +e
  for p in "${BG_PIDS[@]}"; do kill_tree "$p"; done
  server_kill
}
trap lib_cleanup EXIT

# --- Vulkan test clients (tests/vk_*.c) ----------------------------------------

# client_check WHAT OUT_FILE RC: PASS if the client exited 0 and printed its
# "PASSED" summary line; else FAIL, showing its first error lines, its stderr
# (OUT_FILE with .err for .out) and, while a server runs, the server log tail.
client_check() {
  local what=$1 out=$2 rc=$3
  if [ "$rc" -eq 0 ] && grep -q '^PASSED' "$out"; then
    pass "$what: $(grep -c '^ok:' "$out") checks ok"
    return 0
  fi
  fail "$what: $(describe_rc "$rc"), $(grep -c '^error:' "$out" || true) error line(s)"
  grep -m8 '^error:' "$out" | sed 's/^/         | /' || true
  show_tail "${out%.out}.err" 5
  if server_alive; then show_tail "$SERVER_LOG" 10; fi
  return 1
}

# check_no_errors: PASS if the server logged no error line, else FAIL with them.
check_no_errors() {
  local errors
  errors=$(log_errors)
  if [ -z "$errors" ]; then
    pass "server logged no error line"
  else
    fail "server logged error lines:"
    printf '%s\n' "$errors" | head -n 10 | sed 's/^/         | /'
  fi
}

# check_context_released: after a client exits, its context must be destroyed
# with no host object left live in the server.
check_context_released() {
  local last
  if wait_log_count 'context destroyed:' 1 5; then
    last=$(destroyed_lines | tail -n1)
    if [ -n "$last" ] && [ "$(echo "$last" | cut -d' ' -f3)" = 0 ]; then
      pass "context destroyed after the client exited, 0 host objects live in server"
    else
      fail "after the client exited: '$(grep 'context destroyed:' "$SERVER_LOG" | tail -n1)' (want '... 0 live in server')"
    fi
  else
    fail "no 'context destroyed:' line after the client exited"
  fi
}

# check_no_drops [LABEL]: FAIL (with the lines) if the server log says it
# dropped a client: a well-behaved client must never be dropped.
check_no_drops() {
  local n label=${1:+$1: }
  n=$(log_count 'dropping client')
  if [ "$n" -eq 0 ]; then
    pass "${label}no 'dropping client' line in the server log"
  else
    fail "${label}$n 'dropping client' line(s) in the server log"
    grep -m5 'dropping client' "$SERVER_LOG" | sed 's/^/         | /' || true
  fi
}

# --- mounts --------------------------------------------------------------------

# mounts_under DIR: mount points at or below DIR in this mount namespace.
mounts_under() {
  findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'
}

# check_no_mounts DIR WHAT: PASS if nothing is mounted at or below DIR, else
# FAIL listing the mounts (a `cp -a` or `tar` of DIR would walk into them).
check_no_mounts() {
  local dir=$1 what=$2 found
  found=$(mounts_under "$dir")
  if [ -z "$found" ]; then
    pass "$what: nothing mounted under $dir"
  else
    fail "$what: $(printf '%s\n' "$found" | wc -l) mount(s) under $dir:"
    printf '%s\n' "$found" | head -n 10 | sed 's/^/         | /'
  fi
}

# hold_start: vk_hold ($HOLD) through the server in the background (HOLD_PID),
# back once it reports holding its objects; false (a FAIL printed) if it
# never does within 60 s.
hold_start() {
  venus_run "$HOLD" >"$TEST_TMP/hold.out" 2>"$TEST_TMP/hold.err" &
  HOLD_PID=$!
  BG_PIDS+=("$HOLD_PID")
  local deadline=$((SECONDS + 60))
  until grep -q "holding objects" "$TEST_TMP/hold.out" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$HOLD_PID" 2>/dev/null; then
      fail "vk_hold never reported holding objects"; show_tail "$TEST_TMP/hold.err" 5; return 1
    fi
    sleep 0.05
  done
}

# --- X11 (Xvfb) for WSI clients ------------------------------------------------

# xvfb_start: start a private Xvfb and export DISPLAY; false if none starts.
xvfb_start() {
  local n
  for n in $(seq 90 120); do
    [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
    Xvfb ":$n" -screen 0 640x480x24 -nolisten tcp >"$TEST_TMP/xvfb.log" 2>&1 &
    BG_PIDS+=($!)
    local i
    for i in $(seq 50); do
      if [ -e "/tmp/.X11-unix/X$n" ]; then export DISPLAY=":$n"; return 0; fi
      sleep 0.1
    done
  done
  return 1
}

# screen_colors: how many distinct colours the Xvfb root window shows now.
screen_colors() {
  xwd -root -silent 2>/dev/null | python3 -c '
import struct, sys
d = sys.stdin.buffer.read()
if len(d) < 100: print(0); sys.exit()
header, = struct.unpack(">I", d[:4])
w, h = struct.unpack(">II", d[16:24])
ncolors, = struct.unpack(">I", d[76:80])
px = d[header + 12 * ncolors:][: w * h * 4]
print(len(set(px[i:i + 4] for i in range(0, len(px), 4))))'
}
