#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Starts a program as systemd's socket activation would (python3 standard
library only): binds and listens on Unix stream sockets, passes them from
fd 3 on with LISTEN_FDS=<count> and LISTEN_PID set to this pid, then execs
the program (exec keeps the pid).

    socket_activate.py SOCKET_PATH[,SOCKET_PATH...] PROGRAM [ARG...]
"""
import os
import socket
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    paths, program = argv[1].split(','), argv[2:]
    # Bound first, then moved into place: fds 3.. may be the sockets' own.
    socks = []
    for path in paths:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(64)
        socks.append(s)
    held = [os.dup(s.fileno()) for s in socks]
    for s in socks:
        s.close()
    for i, fd in enumerate(held):
        os.dup2(fd, 3 + i)
        os.set_inheritable(3 + i, True)
    for fd in held:
        if fd >= 3 + len(held):
            os.close(fd)
    os.environ['LISTEN_FDS'] = str(len(paths))
    os.environ['LISTEN_PID'] = str(os.getpid())
    os.environ['LISTEN_FDNAMES'] = ':'.join('listen' for _ in paths)
    os.execvp(program[0], program)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
