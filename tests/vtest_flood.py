#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Resource attacks on venus-server's limits (python3 standard library only).

    vtest_flood.py SOCKET flood N HOLD_S
        N connections at once, each doing the handshake and CONTEXT_INIT (replies
        due within 120 s: only a hang misses that), held
        HOLD_S seconds; prints 'served S refused R' (refused: the server
        closed the connection before answering the handshake)
    vtest_flood.py SOCKET idle N HOLD_S
        as flood, and each connection then sends one Venus command (an empty
        SUBMIT_CMD2) and nothing more; prints 'served S refused R', then after
        HOLD_S seconds 'closed C of S' (the served ones the server closed)
    vtest_flood.py SOCKET stall N MIB SENT_MIB WAIT_S
        N connections, each beginning a SUBMIT_CMD2 of MIB MiB and sending only
        SENT_MIB MiB of it; prints 'closed C of N' once the server has closed
        C of them, after at most WAIT_S seconds
    vtest_flood.py SOCKET blobs N
        one connection creating N 4 KiB shared-memory blobs (closing the fds
        it gets); prints 'created K' where the server stopped it (or N)
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import (Client, ProtocolError, hdr, u32,  # noqa: E402
                           VCMD_SUBMIT_CMD2)


def flood(path, n, hold, work=False):
    results = []
    lock = threading.Lock()
    clients = []

    def one():
        c = None
        try:
            c = Client(path, 120)
            c.handshake(name=b'vtest-flood')
            if work:
                c.send(hdr(1, VCMD_SUBMIT_CMD2) + u32(0))
            ok = True
        except (OSError, ProtocolError):
            ok = False
        with lock:
            results.append(ok)
            if c:
                clients.append(c)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    served = sum(results)
    print('served %d refused %d' % (served, n - served), flush=True)
    time.sleep(hold)
    if work:
        closed = sum(c.wait_server_close(0.01) for c in clients)
        print('closed %d of %d' % (closed, served), flush=True)
    for c in clients:
        c.close()
    return 0


def stall(path, n, mib, sent_mib, wait):
    clients = []
    words = mib * 1024 * 1024 // 4
    chunk = b'\0' * (1024 * 1024)
    for _ in range(n):
        c = Client(path, 120)
        c.handshake(name=b'vtest-stall')
        try:
            c.send(hdr(words, VCMD_SUBMIT_CMD2) + u32(1))
            for _ in range(sent_mib):
                c.send(chunk)
        except OSError:
            pass  # already dropped (e.g. over the global buffer limit)
        clients.append(c)
    print('stalling %d' % n, flush=True)
    closed = set()
    deadline = time.monotonic() + wait
    while len(closed) < n and time.monotonic() < deadline:
        for i, c in enumerate(clients):
            if i not in closed and c.wait_server_close(0.05):
                closed.add(i)
    print('closed %d of %d' % (len(closed), n), flush=True)
    for c in clients:
        c.close()
    return 0


def blobs(path, n):
    c = Client(path, 120)
    c.handshake(name=b'vtest-blobs')
    created = 0
    try:
        for _ in range(n):
            _res, fd = c.create_shmem_blob(4096)
            os.close(fd)
            created += 1
    except (OSError, ProtocolError):
        pass
    print('created %d' % created, flush=True)
    c.close()
    return 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode, args = argv[1], argv[2], [int(a) for a in argv[3:]]
    if mode == 'flood' and len(args) == 2:
        return flood(path, *args)
    if mode == 'idle' and len(args) == 2:
        return flood(path, *args, work=True)
    if mode == 'stall' and len(args) == 4:
        return stall(path, *args)
    if mode == 'blobs' and len(args) == 1:
        return blobs(path, *args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
