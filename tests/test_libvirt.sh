#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM device under libvirt (docs/vhost-user.md, "Under libvirt"): the
# sid root's libvirt (session mode, as an unprivileged user of the root)
# defines a domain made from the example dist/libvirt/venus-server-vm.xml
# (its memory backing and device arguments as they are; the test guest's
# kernel, initramfs and log files instead of a disk, TCG instead of KVM)
# whose sockets the server serves as the VM's service
# (venus-server-vm@.service's command line, both sockets passed by socket
# activation: tests/socket_activate.py). `virsh start` boots the test guest (workload power-button:
# vulkaninfo, then it waits for the ACPI power button); `virsh shutdown`
# presses it.
# Checks: virsh defined and started the domain; the guest's vulkaninfo ran
# on Mesa's Venus driver; the domain shut off on `virsh shutdown`; the
# device's worker ended with it; the device refused nothing. Skips where
# test_vhost_user_qemu.sh does, and without libvirt in the sid root
# (ROOTS=1 make roots adds it).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

require_tools python3
if grep -q '"name": "os", "value": "posix"' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null; then
  skip "-Dos=posix build: test_vhost_user_qemu runs the device there"
  finish
fi
if [ -n "${VU_QEMU_BUNDLE:-}" ] || [ ! -x "$vu_sid/usr/bin/virsh" ] || [ ! -x "$vu_sid/usr/sbin/libvirtd" ]; then
  skip "no libvirt in the sid root (ROOTS=1 make roots adds libvirt-daemon, libvirt-daemon-driver-qemu and libvirt-clients)"
  finish
fi
vu_prepare
in=${work#"$vu_sid"}
user=vs-libvirt
"${vu_in_root[@]}" sh -c "id $user >/dev/null 2>&1 || useradd --create-home $user" ||
  { fail "cannot add the user $user to the sid root"; finish; }
uid=$("${vu_in_root[@]}" id -u "$user")
# The server as the VM's service starts it: venus-server-vm@vs-test's
# command line, its two sockets passed by socket activation.
unit=$TESTS_DIR/../dist/systemd/venus-server-vm@.service.in
args=$(sed -n 's|^ExecStart=@BINDIR@/venus-server ||p' "$unit" | sed -e 's/%i/vs-test/g' \
  -e "s|/run/venus-server/vm/vs-test.sock|$work/gpu.sock|" -e "s|/run/venus-server/vm/vs-test-input.sock|$work/input.sock|")
# shellcheck disable=SC2086
env --default-signal=PIPE python3 "$TESTS_DIR/socket_activate.py" "$work/gpu.sock,$work/input.sock" "$SERVER_BIN" \
  $args >"$TEST_TMP/device.out" 2>"$TEST_TMP/device.log" &
device_pid=$!
BG_PIDS+=("$device_pid")
for _ in $(seq 200); do grep -q 'serving VM virtio-input devices' "$TEST_TMP/device.log" && break; sleep 0.05; done
check "the VM unit's command line serves both passed sockets ($args)" \
  grep -q 'serving VM virtio-input devices' "$TEST_TMP/device.log"
# QEMU runs as the session's user: the sockets and the directory are its.
chmod 0666 "$work/gpu.sock" "$work/input.sock"
chown "$uid" "$work"
chmod 0755 "$work"

python3 - "$TESTS_DIR/../dist/libvirt/venus-server-vm.xml" "$in" >"$work/domain.xml" <<'PY' ||
import sys, xml.etree.ElementTree as ET
Q = 'http://libvirt.org/schemas/domain/qemu/1.0'
ET.register_namespace('qemu', Q)
example, work = sys.argv[1], sys.argv[2]
d = ET.parse(example).getroot()
d.set('type', 'qemu')
d.find('name').text = 'vs-test'
d.find('memory').text, d.find('memory').attrib = '1024', {'unit': 'MiB'}
d.find('vcpu').text = '2'
os_ = d.find('os')
for e in list(os_):
    if e.tag == 'boot':
        os_.remove(e)
for tag, text in (('kernel', work + '/vmlinuz'), ('initrd', work + '/initrd.img'),
                  ('cmdline', 'console=ttyS0 loglevel=7 panic=-1 rdinit=/init vmtest=power-button')):
    ET.SubElement(os_, tag).text = text
d.find('cpu').attrib = {'mode': 'maximum'}
devices = d.find('devices')
for e in devices.findall('disk') + devices.findall('console'):
    devices.remove(e)
serial = ET.SubElement(devices, 'serial', type='file')
ET.SubElement(serial, 'source', path=work + '/serial.log')
console = ET.SubElement(devices, 'console', type='file')
ET.SubElement(console, 'source', path=work + '/hvc.log')
ET.SubElement(console, 'target', type='virtio')
for arg in d.find('{%s}commandline' % Q):
    arg.set('value', arg.get('value').replace('/run/venus-server/vm/NAME-input.sock', work + '/input.sock')
            .replace('/run/venus-server/vm/NAME.sock', work + '/gpu.sock'))
ET.ElementTree(d).write(sys.stdout, encoding='unicode')
PY
  { fail "the example domain could not be made the test's"; finish; }

# In the root, as the user: /run and /sys for libvirt's session daemon,
# then define, start, wait for the guest's cue, shut down, undefine. The
# user's own environment only: the suite's (XDG_CACHE_HOME...) names
# directories of the host.
cat >"$work/virsh.sh" <<EOF
set -u
export XDG_RUNTIME_DIR=/run/user/$uid HOME=/home/$user
v() { echo "+ virsh \$*"; virsh -c qemu:///session "\$@"; }
# One left by a run that was stopped goes first.
virsh -c qemu:///session undefine vs-test >/dev/null 2>&1
v define $in/domain.xml || exit 1
v start vs-test || { v undefine vs-test; exit 1; }
for _ in \$(seq 400); do grep -aq 'VMTEST waiting for the power button' $in/hvc.log 2>/dev/null && break; sleep 0.5; done
v domstate vs-test
v shutdown vs-test
for _ in \$(seq 120); do [ "\$(virsh -c qemu:///session domstate vs-test)" = "shut off" ] && break; sleep 0.5; done
v domstate vs-test
v undefine vs-test
EOF
t0=$SECONDS
"${vu_in_root[@]}" sh -c "mount -t tmpfs tmpfs /run && mount -t sysfs sysfs /sys && mkdir -p /run/user/$uid &&
  chown $uid /run/user/$uid && timeout -k 5 400 su $user -s /bin/sh -c 'env -i PATH=/usr/bin:/bin sh $in/virsh.sh'" \
  >"$TEST_TMP/virsh.log" 2>&1
note "libvirt: $((SECONDS - t0)) s from define to undefine"
tr -d '\r' <"$work/hvc.log" >"$TEST_TMP/guest.log" 2>/dev/null || : >"$TEST_TMP/guest.log"
cp "$work/serial.log" "$TEST_TMP/serial.log" 2>/dev/null || true
vu_server_stop
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "virsh defined and started the domain" grep -q '^Domain .vs-test. started' "$TEST_TMP/virsh.log"
vm_step_check vulkaninfo "the guest's vulkaninfo ran on Venus ($(grep -o 'Virtio-GPU Venus[^)]*)' "$log" | head -n 1))" \
  grep -q 'Virtio-GPU Venus' "$log"
check "the guest waited for the power button ($(sed -n 's/^VMTEST waiting for the power button //p' "$log"))" \
  grep -q '^VMTEST waiting for the power button /dev/input/event' "$log"
state=$(grep -A1 '^+ virsh domstate' "$TEST_TMP/virsh.log" | tail -n 1)
check "virsh shutdown pressed it, and the domain shut off (${state:-no state})" \
  test "$(grep -c '^VMTEST power button$' "$log")" -eq 1 -a "$state" = "shut off"
check "the device's worker ended with the domain" grep -qE 'vhost-user device 1: its worker \(pid [0-9]+\) ended$' "$dlog"
check "the server stopped on SIGTERM (status $device_rc)" test "$device_rc" = 0
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" || true)
if [ -z "$refused" ]; then pass "the devices refused nothing"; else
  fail "the devices logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/virsh.log" 20
  show_tail "$log" 10
  show_tail "$dlog" 10
fi
finish
