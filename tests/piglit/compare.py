#!/usr/bin/env python3
"""Compares two piglit result directories (native, through the server).

    compare.py NATIVE_DIR SERVER_DIR

Prints the outcome counts of both side by side and every test that passes
natively but not through the server (a regression); exits 1 if there is
one, or if more tests crash through the server than natively. A run
without results.json (still going, or stopped) is read from its per-test
files, and only the tests both runs finished are compared."""
import bz2
import collections
import json
import os
import sys

# piglit's outcomes, in the order the table shows them.
OUTCOMES = ['pass', 'warn', 'fail', 'skip', 'crash', 'timeout', 'incomplete', 'dmesg-warn', 'dmesg-fail']


def load(path):
    for name, opener in (('results.json', open), ('results.json.bz2', bz2.open)):
        f = os.path.join(path, name)
        if os.path.exists(f):
            with opener(f, 'rt') as fh:
                return {t: r['result'] for t, r in json.load(fh)['tests'].items()}, True
    # A run still going (or stopped): piglit's one file per finished test.
    tests = {}
    parts = os.path.join(path, 'tests')
    for f in sorted(os.listdir(parts)) if os.path.isdir(parts) else []:
        try:
            with open(os.path.join(parts, f)) as fh:
                tests.update({t: r['result'] for t, r in json.load(fh).items()})
        except ValueError:
            pass  # the file being written
    if not tests:
        sys.exit('compare.py: no results in %s' % path)
    return tests, False


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    (native, native_done), (server, server_done) = load(sys.argv[1]), load(sys.argv[2])
    if not (native_done and server_done):
        # Partial runs: only the tests both have finished count (piglit
        # marks a running test "incomplete").
        both = {t for t in set(native) & set(server) if 'incomplete' not in (native[t], server[t])}
        print('partial results (native %s, server %s): the %d tests both finished' %
              ('complete' if native_done else 'running', 'complete' if server_done else 'running', len(both)))
        native = {t: r for t, r in native.items() if t in both}
        server = {t: r for t, r in server.items() if t in both}
    counts = {k: collections.Counter(v.values()) for k, v in (('native', native), ('server', server))}
    print('%-12s %8s %8s' % ('outcome', 'native', 'server'))
    for o in OUTCOMES + sorted((set(counts['native']) | set(counts['server'])) - set(OUTCOMES)):
        if counts['native'][o] or counts['server'][o]:
            print('%-12s %8d %8d' % (o, counts['native'][o], counts['server'][o]))
    print('%-12s %8d %8d' % ('total', len(native), len(server)))
    regressions = sorted(t for t, r in native.items() if r == 'pass' and server.get(t, 'notrun') != 'pass')
    fixed = sorted(t for t, r in server.items() if r == 'pass' and native.get(t) != 'pass')
    print('regressions (pass natively, not through the server): %d' % len(regressions))
    for t in regressions:
        print('  %s: %s' % (t, server.get(t, 'notrun')))
    if fixed:
        print('pass only through the server: %d' % len(fixed))
        for t in fixed:
            print('  %s: native %s' % (t, native[t]))
    crashes = counts['server']['crash'] > counts['native']['crash']
    if crashes:
        print('more crashes through the server (%d) than natively (%d)' %
              (counts['server']['crash'], counts['native']['crash']))
    return 1 if regressions or crashes else 0


if __name__ == '__main__':
    sys.exit(main())
