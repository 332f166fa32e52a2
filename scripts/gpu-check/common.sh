# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Helpers the parts of scripts/gpu-check.sh share (it sources this file
# before the set-up): native, client and guest26 run a program on the host
# driver or as a Venus client (Mesa 25's guest, or Mesa 26's from
# BUNDLE/guest26); result prints a row; run_server and stop_server start and
# stop venus-server on $sock; dump_threads writes a hung process's stacks
# into the logs; chromium_unpack and vm_unpack/vm_run unpack and start
# Chromium and the test VM (the live, vm and vm-live parts); vm_vhost_unpack
# unpacks sid's QEMU 11.1 for the vhost-user device (vm-paths).

# Every process names its driver both ways: VK_DRIVER_FILES wins over
# VK_ICD_FILENAMES in the loader, so neither may leak from one side to the other.
native() { timeout -k 5 "${LIMIT:-120}" env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$@"; }
client() {
  timeout -k 5 "${LIMIT:-120}" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_DRIVER_FILES="$VIRTIO_ICD" VK_ICD_FILENAMES="$VIRTIO_ICD" "$@"
}

# The newest Mesa's Venus guest (BUNDLE/guest26: sid's programs and
# libraries under sid's own ld-linux, the image's glibc being older); the
# programs built on Debian 12 run the same way.
guest26() {
  timeout -k 5 "${LIMIT:-120}" env -u LD_LIBRARY_PATH VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_DRIVER_FILES="$prefix/virtio26_icd.json" VK_ICD_FILENAMES="$prefix/virtio26_icd.json" \
    "$g26/lib/ld-linux-x86-64.so.2" --library-path "$g26/lib" "$@"
}

# median FIGURE: the median of FIGURE's samples in exec_bench's output on
# stdin ("FIGURE VALUE" lines); "-" where there are none.
median() { awk -v f="$1" '$1 == f {print $2}' | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }

result() { # NAME VERDICT [DETAIL]
  local line="== $1: $2${3:+ ($3)}"
  echo "$line"
  results+=("$line")
  [ "$2" = FAIL ] && failures=$((failures + 1))
  return 0
}

# dump_threads PID LABEL: every thread's kernel stack and, with a debugger,
# its backtrace, into $logs/hang-LABEL.txt.
dump_threads() {
  local pid=$1 f=$logs/hang-$2.txt t dbg
  {
    echo "# $2: pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
    for t in /proc/"$pid"/task/*; do
      echo "## task ${t##*/} $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"
      cat "$t/stack" 2>/dev/null
    done
    dbg=$(command -v gdb || command -v cuda-gdb || ls /usr/local/cuda*/bin/cuda-gdb 2>/dev/null | head -n1)
    if [ -n "$dbg" ]; then
      timeout 120 "$dbg" -batch -nx -p "$pid" -ex 'set pagination off' -ex 'thread apply all bt' 2>&1 \
        | grep -vE '^\[New LWP|^warning: .*(debug|symbol)'
    fi
  } >>"$f" 2>&1
  echo "   thread dump of $2 (pid $pid) in $(basename "$f")"
}

# --- the server ----------------------------------------------------------------
sock=$prefix/venus.sock
server_pid=""
server_n=0
server_log=""
run_server() {
  stop_server
  server_n=$((server_n + 1))
  server_log=$logs/server-$server_n.log
  rm -f "$sock"
  env VK_DRIVER_FILES="$HOST_ICD" VK_ICD_FILENAMES="$HOST_ICD" "$build/venus-server" --socket "$sock" "$@" \
    >"$server_log" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
  echo "server did not start" >&2; cat "$server_log" >&2; return 1
}
# stop_server: SIGTERM; true if it exited within 15 s (else its threads are
# dumped and it is killed).
stop_server() {
  [ -n "$server_pid" ] || return 0
  local pid=$server_pid
  server_pid=""
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  echo "   server $pid still running 15 s after SIGTERM"
  dump_threads "$pid" "server-sigterm-$server_n"
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return 1
}
trap 'stop_server' EXIT
destroyed() { # "ctx released live" per destroyed context of the current server
  sed -nE 's/^(worker process [0-9]+: )?venus-server: info: ctx ([0-9]+): context destroyed: ([0-9]+) host objects released, ([0-9]+) live in server.*$/\2 \3 \4/p' "$server_log"
}

# --- live in the browser: commit->drawn at 1080p in headless Chromium -------------------
# chromium_unpack: Debian's Chromium from the carried parts into
# $prefix/chromium, started by $prefix/chromium-run; false without parts.
chromium_unpack() {
  local parts="" d croot=$prefix/chromium
  [ -x "$prefix/chromium-run" ] && return 0
  for d in "${CHROMIUM_PARTS:-}" "$bundle/../gpu-chromium" "$top/.deps/gpu-chromium"; do
    if [ -n "$d" ] && compgen -G "$d/[0-9]*/debs.tar.*" >/dev/null; then parts=$d; break; fi
  done
  [ -n "$parts" ] || return 1
  # The parts, in order (debs.tar.00, .01, ...), are one tar of .debs.
  mkdir -p "$croot/debs"
  # shellcheck disable=SC2046
  cat $(for f in "$parts"/[0-9]*/debs.tar.*; do echo "${f##*.} $f"; done | sort | cut -d' ' -f2) |
    tar -xf - -C "$croot/debs"
  for deb in "$croot"/debs/*.deb; do dpkg -x "$deb" "$croot"; done
  rm -rf "$croot/debs"
  # cdp_view.py starts this: the browser with its own libraries.
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' \
    "$croot/usr/lib/x86_64-linux-gnu:$croot/usr/lib/x86_64-linux-gnu/pulseaudio:$croot/lib/x86_64-linux-gnu" \
    "$croot/usr/lib/chromium/chromium" >"$prefix/chromium-run"
  chmod +x "$prefix/chromium-run"
}
CHROMIUM_SKIP="no Chromium parts: scripts/gpu-bundle.sh with CHROMIUM=1 makes them in BUNDLE/../gpu-chromium (or set CHROMIUM_PARTS)"

# --- the test VM with KVM (scripts/vm-bundle.sh) ----------------------------------------
# vm_unpack: the test VM's guest and host parts into $prefix; sets vm_host
# and vm_accel. False without them.
vm_unpack() {
  [ -f "$bundle/vm-guest.tar" ] && compgen -G "$bundle/vm-host.tar.xz.[0-9]" >/dev/null || return 1
  vm_host=$prefix/vm-host
  [ -d "$prefix/vm-guest" ] && [ -d "$vm_host" ] && return 0
  mkdir -p "$prefix/vm-guest"
  tar -C "$prefix/vm-guest" -xf "$bundle/vm-guest.tar"
  cat "$bundle"/vm-host.tar.xz.[0-9] | xz -dc | tar -C "$prefix" -xf -
  # Xvfb runs its keymap compiler as /usr/bin/xkbcomp: the bundle's, on its loader.
  if [ ! -x /usr/bin/xkbcomp ] && [ "$(id -u)" = 0 ]; then
    printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$vm_host/ld-linux-x86-64.so.2" "$vm_host/lib" \
      "$vm_host/bin/xkbcomp" >/usr/bin/xkbcomp
    chmod +x /usr/bin/xkbcomp
  fi
  vm_accel=${VM_ACCEL:-auto}
  # A KVM that is PVM (kvm_pvm: software virtualization for hosts that
  # are VMs without VMX, as many cloud GPU hosts are) runs only guest kernels
  # built for it; a stock Debian kernel stops in its instruction emulator
  # (BMI2 in the decompressor, CMPXCHG16B in SLUB, XRSTOR at FPU set-up).
  if [ "$vm_accel" = auto ]; then
    vm_accel=kvm
    if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
      echo "== vm: /dev/kvm is PVM (kvm_pvm; no VMX on this machine): a stock guest kernel cannot run on it, so the VM runs under TCG (VM_ACCEL=kvm tries anyway)"
      vm_accel=tcg
    fi
  fi
}
vm_run() { # LABEL WORKLOAD [vm-run.sh options]: one boot; its files in $logs/LABEL/
  local label=$1 workload=$2
  shift 2
  LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} timeout -k 10 $((${VM_TIMEOUT:-600} + 100)) "$top/scripts/vm-run.sh" --host-bundle "$vm_host" \
    --server "$build/venus-server" --accel "$vm_accel" --workload "$workload" --timeout "${VM_TIMEOUT:-600}" --host-icd "$HOST_ICD" \
    "$@" "$logs/$label" "$prefix/vm-guest" >"$logs/$label.out" 2>&1
}
VM_SKIP="no vm-guest.tar and vm-host.tar.xz.N in the bundle (scripts/vm-bundle.sh)"
# vm_vhost_unpack: BUNDLE/vm-vhost.tar.xz (sid's QEMU 11.1 on its own
# ld-linux, the vhost-user device's front end) into $prefix; sets vm_vhost.
# False without it.
vm_vhost_unpack() {
  [ -f "$bundle/vm-vhost.tar.xz" ] || return 1
  vm_vhost=$prefix/vm-vhost
  [ -d "$vm_vhost" ] || xz -dc "$bundle/vm-vhost.tar.xz" | tar -C "$prefix" -xf -
}
VM_VHOST_SKIP="no vm-vhost.tar.xz in the bundle (scripts/vm-bundle.sh)"
