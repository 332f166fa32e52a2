#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a program with its stdout on a tiny pipe that nobody reads, so that it
stalls in write() once it has printed a few KiB, holding whatever it created
before printing (vulkaninfo creates its instance and every VkDevice before it
prints a line about the devices).

    stall_client.py STDERR_FILE TIMEOUT_S PROGRAM [ARGS...]

Prints 'stalled PID' once the program is blocked writing to the pipe, or
'not-stalled PID STATUS' if it ended first; then waits for the program to end
(the caller kills it), prints 'exit STATUS' and exits 0. After TIMEOUT_S it
kills the program itself and exits 1.
"""
import array
import fcntl
import os
import signal
import subprocess
import sys
import termios
import time


def wchan(pid):
    try:
        with open('/proc/%d/wchan' % pid) as f:
            return f.read()
    except OSError:
        return ''


def main(argv):
    err_path, timeout, cmd = argv[1], float(argv[2]), argv[3:]
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    size = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
    with open(err_path, 'wb') as err:
        p = subprocess.Popen(cmd, stdout=w, stderr=err, stdin=subprocess.DEVNULL)
    os.close(w)
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        n = array.array('i', [0])
        fcntl.ioctl(r, termios.FIONREAD, n)
        # Blocked in write(): the kernel says so (wchan), or the pipe is full,
        # or (no wchan) output stopped growing for a second.
        if n[0] != last:
            last, since = n[0], time.monotonic()
        if n[0] >= size or 'pipe_write' in wchan(p.pid) or \
           (n[0] > 0 and time.monotonic() - since > 1.0 and p.poll() is None):
            print('stalled %d' % p.pid, flush=True)
            break
        if p.poll() is not None:
            print('not-stalled %d %d' % (p.pid, p.returncode), flush=True)
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    try:
        rc = p.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        print('timeout: killed %d after %ss' % (p.pid, timeout), flush=True)
        return 1
    print('exit %d' % rc, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
