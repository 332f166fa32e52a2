#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Wayland client speaking the wire protocol by hand: binds wl_shm and
creates N pools of one small memfd, then a wl_display.sync.

    wl_pool_flood.py SOCKET N

Prints 'done' when the sync came back with no error, 'error CODE MESSAGE'
when the server posted a wl_display.error, 'closed' when it hung up."""
import os, socket, struct, sys

def msg(obj, op, payload=b''):
    return struct.pack('<II', obj, ((8 + len(payload)) << 16) | op) + payload

def string(s):
    b = s.encode() + b'\0'
    return struct.pack('<I', len(b)) + b + b'\0' * (-len(b) % 4)

def events(sock):
    buf = b''
    while True:
        while len(buf) >= 8:
            obj, word = struct.unpack_from('<II', buf)
            size = word >> 16
            if len(buf) < size:
                break
            yield obj, word & 0xffff, buf[8:size]
            buf = buf[size:]
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b''
        if not data:
            return
        buf += data

def main():
    path, n = sys.argv[1], int(sys.argv[2])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(msg(1, 1, struct.pack('<I', 2)) + msg(1, 0, struct.pack('<I', 3)))
    shm_name = None
    ev = events(sock)
    for obj, op, body in ev:
        if obj == 2 and op == 0:
            name, length = struct.unpack_from('<II', body)
            if body[8:8 + length - 1] == b'wl_shm':
                shm_name = name
        elif obj == 3:
            break
    if shm_name is None:
        print('no wl_shm global')
        return 1
    sock.sendall(msg(2, 0, struct.pack('<I', shm_name) + string('wl_shm') + struct.pack('<II', 1, 4)))
    fd = os.memfd_create('pool')
    os.ftruncate(fd, 4096)
    try:
        for i in range(n):
            socket.send_fds(sock, [msg(4, 0, struct.pack('<Ii', 5 + i, 4096))], [fd])
        sock.sendall(msg(1, 0, struct.pack('<I', 5 + n)))
    except (BrokenPipeError, ConnectionResetError):
        print('closed')
        return 0
    for obj, op, body in ev:
        if obj == 1 and op == 0:
            _, code, length = struct.unpack_from('<III', body)
            print('error', code, body[12:12 + length - 1].decode(errors='replace'))
            return 0
        if obj == 5 + n:
            print('done')
            return 0
    print('closed')
    return 0

sys.exit(main())
