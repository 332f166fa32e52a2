#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM device under libvirt and systemd, as an operator runs it
# (docs/vhost-user.md, "Under libvirt"): the sid root booted by its own
# systemd (tests/lib_systemd.sh), the package (make deb) installed there
# and `venus-server-vm@vs-test.socket` enabled; the root's libvirt
# (session mode, as a user of the root in the group kvm) defines a domain
# made from the example dist/libvirt/venus-server-vm.xml (its memory
# backing and device arguments as they are; the test guest's kernel,
# initramfs and log files instead of a disk, TCG instead of KVM), and
# `virsh start` boots the test guest (workload power-button: vulkaninfo,
# then it waits for the ACPI power button), whose connection starts the
# VM's service; `virsh shutdown` presses the button.
# Checks: systemd booted; the package installed and the socket unit is
# active; virsh defined and started the domain; the guest's vulkaninfo ran
# on Mesa's Venus driver; the domain shut off on `virsh shutdown`; the
# device's worker ended with it (the service's journal); the service ran
# and stopped cleanly; the device refused nothing. Skips where
# test_vhost_user_qemu.sh does, and without libvirt in the sid root
# (ROOTS=1 make roots adds it).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_vm.sh"
. "$TESTS_DIR/lib_vhost_user.sh"

require_tools python3
if posix_build; then
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
# The package, as make deb builds it (test_deb leaves it in BUILD_DIR/deb).
deb=$(ls "$BUILD_DIR"/deb/venus-server_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  make -C "$TESTS_DIR/.." --no-print-directory deb DEB_OUT="$BUILD_DIR/deb" >"$TEST_TMP/deb.log" 2>&1 ||
    { fail "make deb failed"; show_tail "$TEST_TMP/deb.log"; finish; }
  deb=$(ls "$BUILD_DIR"/deb/venus-server_*.deb)
fi
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[[:space:]]*\([^ (]*\).*/\1/' | grep -v '^$' | paste -sd,)
"$vm_top/scripts/debian-root.sh" sid --include "$deps" >"$TEST_TMP/deps.log" 2>&1 ||
  { fail "the package's dependencies ($deps) could not be installed in the sid root"; finish; }
cp "$deb" "$work/venus-server.deb"

# The sid root booted by its own systemd, with the test's directory as it
# is; the package installed there and the VM's unit enabled, as on an
# operator's host. The session's user is in the group kvm, as Debian's
# libvirt-qemu is: the unit's sockets are that group's.
. "$TESTS_DIR/lib_systemd.sh"
trap 'sd_stop; lib_cleanup; rm -rf --one-file-system "$work"' EXIT
sd_boot "$vu_sid" "$TEST_TMP/boot" "$in" || finish
pass "systemd $(sd_run systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') booted the sid root"
rc=0; sd_run dpkg -i "$in/venus-server.deb" >"$TEST_TMP/install.log" 2>&1 || rc=$?
check "dpkg -i $(basename "$deb") (status $rc)" test "$rc" -eq 0
rc=0; sd_run systemctl enable --now venus-server-vm@vs-test.socket >"$TEST_TMP/enable.log" 2>&1 || rc=$?
check "systemctl enable --now venus-server-vm@vs-test.socket ($(sd_run systemctl is-active venus-server-vm@vs-test.socket))" \
  test "$rc" -eq 0 -a "$(sd_run systemctl is-active venus-server-vm@vs-test.socket)" = active
sd_run sh -c "{ id $user >/dev/null 2>&1 || useradd --create-home $user; } && usermod -a -G kvm $user" ||
  { fail "cannot add the user $user to the booted root"; finish; }
uid=$(sd_run id -u "$user")
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
    arg.set('value', arg.get('value').replace('/run/venus-server/vm/NAME', '/run/venus-server/vm/vs-test'))
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
sd_run sh -c "mkdir -p /run/user/$uid && chown $uid /run/user/$uid &&
  timeout -k 5 400 su $user -s /bin/sh -c 'env -i PATH=/usr/bin:/bin sh $in/virsh.sh'" >"$TEST_TMP/virsh.log" 2>&1 || true
note "libvirt: $((SECONDS - t0)) s from define to undefine"
tr -d '\r' <"$work/hvc.log" >"$TEST_TMP/guest.log" 2>/dev/null || : >"$TEST_TMP/guest.log"
cp "$work/serial.log" "$TEST_TMP/serial.log" 2>/dev/null || true
# The service's log, then the service stopped as an operator would.
service=venus-server-vm@vs-test.service
service_state=$(sd_run systemctl show -P ActiveState "$service")
sd_run systemctl stop "$service" venus-server-vm@vs-test.socket
service_result=$(sd_run systemctl show -P Result "$service")
sd_run journalctl -q -o cat -u "$service" >"$TEST_TMP/device.log" 2>&1
sd_stop
log=$TEST_TMP/guest.log dlog=$TEST_TMP/device.log

check "virsh defined and started the domain" grep -q '^Domain .vs-test. started' "$TEST_TMP/virsh.log"
vm_step_check vulkaninfo "the guest's vulkaninfo ran on Venus ($(grep -o 'Virtio-GPU Venus[^)]*)' "$log" | head -n 1))" \
  grep -q 'Virtio-GPU Venus' "$log"
check "the guest waited for the power button ($(sed -n 's/^VMTEST waiting for the power button //p' "$log"))" \
  grep -q '^VMTEST waiting for the power button /dev/input/event' "$log"
state=$(grep -A1 "^+ virsh domstate" "$TEST_TMP/virsh.log" | tail -n 1 || true)
check "virsh shutdown pressed it, and the domain shut off (${state:-no state})" \
  test "$(grep -c '^VMTEST power button$' "$log")" -eq 1 -a "$state" = "shut off"
check "the device's worker ended with the domain" grep -qE 'vhost-user device 1: its worker \(pid [0-9]+\) ended$' "$dlog"
check "the VM's service ran the domain's life ($service_state), and stopped cleanly (result $service_result)" \
  test "$service_state" = active -a "$service_result" = success
refused=$(grep -E '^(worker process [0-9]+: )?venus-server: (warn|error):' "$dlog" || true)
if [ -z "$refused" ]; then pass "the devices refused nothing"; else
  fail "the devices logged:"; printf '%s\n' "$refused" | head -5 | sed 's/^/         | /'; fi
if [ "$N_FAIL" -gt 0 ]; then
  show_tail "$TEST_TMP/virsh.log" 20
  show_tail "$log" 10
  show_tail "$dlog" 10
fi
finish
