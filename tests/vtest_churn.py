#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Connection churn against venus-server's worker pool (python3 standard
library only).

    vtest_churn.py SOCKET close N [SERVER_PID [PAUSE_MS]]
        N connections one after the other (PAUSE_MS apart), each closed at
        once without a byte sent; prints 'churn N attacker-cpu-s A' and,
        with SERVER_PID,
        'server-cpu-s S': the CPU time (user and system) the server, its
        forker and its workers (live and reaped) spent meanwhile, read from
        /proc
    vtest_churn.py SOCKET message N HOLD_S
        N connections at once, each sending one whole message
        (CREATE_RENDERER) and nothing more, held HOLD_S seconds; prints
        'sent N'
"""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import hdr, VCMD_CREATE_RENDERER  # noqa: E402


def tree_cpu_s(root):
    """utime + stime of root and its live descendants, with what their
    reaped children spent (cutime + cstime): every worker the server's
    forker started, alive or gone."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(entry), fields))
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0
    todo = [root]
    try:
        with open('/proc/%d/stat' % root) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += sum(int(x) for x in fields[11:15])
    except OSError:
        return None
    while todo:
        pid = todo.pop()
        for child, fields in children.get(pid, []):
            total += sum(int(x) for x in fields[11:15])
            todo.append(child)
    return total / ticks


def churn_close(path, n, server_pid, pause_ms):
    before = tree_cpu_s(server_pid) if server_pid else None
    start = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.close()
        time.sleep(pause_ms / 1000)
    end = resource.getrusage(resource.RUSAGE_SELF)
    attacker = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    line = 'churn %d attacker-cpu-s %.3f' % (n, attacker)
    if server_pid:
        # Let the server finish what the connections started.
        time.sleep(5)
        line += ' server-cpu-s %.2f' % (tree_cpu_s(server_pid) - before)
    print(line, flush=True)


def churn_message(path, n, hold):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        name = b'vtest-churn'
        s.sendall(hdr(len(name), VCMD_CREATE_RENDERER) + name)
        socks.append(s)
    print('sent %d' % n, flush=True)
    time.sleep(hold)
    for s in socks:
        s.close()


def main():
    if len(sys.argv) >= 4 and sys.argv[2] == 'close':
        churn_close(sys.argv[1], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0,
                    int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif len(sys.argv) == 5 and sys.argv[2] == 'message':
        churn_message(sys.argv[1], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
