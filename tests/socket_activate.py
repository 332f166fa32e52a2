#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Starts a program as systemd's socket activation would (python3 standard
library only): binds and listens on a Unix stream socket, passes it as fd 3
with LISTEN_FDS=1 and LISTEN_PID set to this pid, then execs the program
(exec keeps the pid).

    socket_activate.py SOCKET_PATH PROGRAM [ARG...]
"""
import os
import socket
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, program = argv[1], argv[2:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
        s.close()
    os.set_inheritable(3, True)
    os.environ['LISTEN_FDS'] = '1'
    os.environ['LISTEN_PID'] = str(os.getpid())
    os.environ['LISTEN_FDNAMES'] = 'vtest'
    os.execvp(program[0], program)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
