#!/usr/bin/env python3
"""Compares two piglit result directories (native, through the server).

    compare.py NATIVE_DIR SERVER_DIR

Prints the outcome counts of both side by side and every test that passes
natively but not through the server (a regression); exits 1 if there is
one, or if more tests crash through the server than natively."""
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
                return {t: r['result'] for t, r in json.load(fh)['tests'].items()}
    sys.exit('compare.py: no results.json(.bz2) in %s (piglit did not finish?)' % path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    native, server = load(sys.argv[1]), load(sys.argv[2])
    counts = {k: collections.Counter(v.values()) for k, v in (('native', native), ('server', server))}
    print('%-12s %8s %8s' % ('outcome', 'native', 'server'))
    for o in OUTCOMES + sorted(set(counts['native']) | set(counts['server']) - set(OUTCOMES)):
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
