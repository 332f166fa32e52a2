# SPDX-License-Identifier: MIT
# A Debian root booted by its own systemd, as an operator's host boots:
# systemd is PID 1 of PID, mount and cgroup namespaces of its own, on an
# overlay of the root (what it writes goes to the overlay's upper
# directory, so the root stays as it was), with /proc, a read-only /sys,
# a cgroup2 hierarchy (systemd 256 and later wants no other), a /dev of
# the usual character devices and fresh /run and /tmp. Killing PID 1 ends
# every process of the boot. Needs root. Source after lib.sh.
#
#   sd_boot ROOT DIR [PATH...]  boot ROOT; the overlay's layers under DIR;
#                               each PATH, a directory inside ROOT, is
#                               bound into the boot as it is (its writes
#                               reach ROOT/PATH); sets sd_pid (PID 1)
#   sd_run CMD [ARG...]         CMD inside the boot (its namespaces, root)
#   sd_stop                     power off (at most 20 s), then kill

sd_pid=
sd_boot() {
  local root=$1 dir=$2 state=
  shift 2
  mkdir -p "$dir/upper" "$dir/work" "$dir/merged"
  # The second stage, in the new namespaces: mount, then become systemd.
  cat >"$dir/boot.sh" <<'EOF'
set -e
root=$1 dir=$2 r=$2/merged
shift 2
mount -t overlay overlay -o "lowerdir=$root,upperdir=$dir/upper,workdir=$dir/work" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs -o ro sysfs "$r/sys"
mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$r/dev"
for d in null zero full random urandom tty; do
  touch "$r/dev/$d"
  mount --bind "/dev/$d" "$r/dev/$d"
done
mkdir "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
for p in "$@"; do mkdir -p "$r/$p" && mount --bind "$root/$p" "$r/$p"; done
exec chroot "$r" env container=venus-test /lib/systemd/systemd --system --show-status=no
EOF
  unshare --pid --mount --cgroup --fork --propagation private -- bash "$dir/boot.sh" "$root" "$dir" "$@" \
    >"$dir/boot.log" 2>&1 &
  local unshare_pid=$!
  # PID 1 is unshare's child (its mounts, then exec).
  for _ in $(seq 100); do
    sd_pid=$(pgrep -P "$unshare_pid" || true)
    [ -n "$sd_pid" ] && break
    sleep 0.1
  done
  [ -n "$sd_pid" ] || { fail "systemd did not start in the root"; show_tail "$dir/boot.log"; return 1; }
  # Booted: running, or degraded by a unit a container cannot run (a
  # getty on the console).
  for _ in $(seq 120); do
    state=$(sd_run systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.5
  done
  case $state in
    running|degraded) return 0 ;;
    *) fail "systemd did not finish booting in the root (${state:-no state})"; show_tail "$dir/boot.log"; return 1 ;;
  esac
}

sd_run() {
  nsenter --target "$sd_pid" --mount --pid --cgroup --root --wd "$@"
}

sd_stop() {
  [ -n "$sd_pid" ] || return 0
  # SIGRTMIN+4: systemd powers off.
  kill -s RTMIN+4 "$sd_pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$sd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$sd_pid" 2>/dev/null || true
  sd_pid=
}
