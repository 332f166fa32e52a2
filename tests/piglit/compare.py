#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares two piglit result directories (native, through the server).

    compare.py NATIVE_DIR SERVER_DIR [--list FILE] [--rerun NATIVE2 SERVER2]

Prints the outcome counts of both side by side and every test that passes
natively but not through the server (a regression); exits 1 if there is
one, or if more tests crash through the server than natively. A run
without results.json (still going, or stopped) is read from its per-test
files, and only the tests both runs finished are compared.

--list FILE writes the regressions' names, one a line (piglit's
--test-list). --rerun gives runs of just those tests again, natively and
through the server: a regression that passes through the server on the
rerun, or no longer passes natively, is flaky (a loaded machine's
timeouts, timer drift, a display connection refused) and listed as such;
only the others fail, each with the rerun's outcome (and the first run's
below, where it differs)."""
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
    args = sys.argv[1:]
    list_file = rerun = None
    if '--list' in args:
        i = args.index('--list')
        list_file = args[i + 1]
        del args[i:i + 2]
    if '--rerun' in args:
        i = args.index('--rerun')
        rerun = (load(args[i + 1])[0], load(args[i + 2])[0])
        del args[i:i + 3]
    if len(args) != 2:
        sys.exit(__doc__)
    (native, native_done), (server, server_done) = load(args[0]), load(args[1])
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
    flaky = {}
    if rerun:
        for t in regressions:
            again_native, again_server = rerun[0].get(t, 'notrun'), rerun[1].get(t, 'notrun')
            if again_server == 'pass' or again_native != 'pass':
                flaky[t] = 'rerun: native %s, server %s' % (again_native, again_server)
    confirmed = [t for t in regressions if t not in flaky]
    if list_file:
        with open(list_file, 'w') as f:
            f.writelines(t + '\n' for t in regressions)
    # The rerun (one test at a time, a longer timeout) says how a confirmed
    # regression fails: the first run's outcome may be the loaded machine's
    # (an X server that refused a connection).
    outcome = {t: rerun[1].get(t, 'notrun') if rerun else server.get(t, 'notrun') for t in confirmed}
    print('regressions (pass natively, not through the server): %d' % len(confirmed))
    for t in confirmed:
        print('  %s: %s' % (t, outcome[t]))
    changed = [t for t in confirmed if outcome[t] != server.get(t, 'notrun')]
    if changed:
        print('first run otherwise: %d' % len(changed))
        for t in changed:
            print('  %s: %s' % (t, server.get(t, 'notrun')))
    if flaky:
        print('flaky (the rerun did not repeat the difference): %d' % len(flaky))
        for t in sorted(flaky):
            print('  %s: %s, %s' % (t, server.get(t, 'notrun'), flaky[t]))
    if fixed:
        print('pass only through the server: %d' % len(fixed))
        for t in fixed:
            print('  %s: native %s' % (t, native[t]))
    server_crashes = sum(1 for t, r in server.items() if r == 'crash' and t not in flaky)
    crashes = server_crashes > counts['native']['crash']
    if crashes:
        print('more crashes through the server (%d) than natively (%d)' % (server_crashes, counts['native']['crash']))
    return 1 if confirmed or crashes else 0


if __name__ == '__main__':
    sys.exit(main())
