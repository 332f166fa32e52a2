#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Parse the text output of a full `vulkaninfo` run (not --summary) and compare
selected values between two runs (e.g. native lavapipe vs. lavapipe through
venus-server).

vulkaninfo's text format is a tab-indented tree:

    GPU0:                                   <- starts a device block (indent 0)
    VkPhysicalDeviceLimits:                 <- section header (indent 0) ...
    -----------------------                 <- ... underlined with - or =
    \tmaxImageDimension2D   = 16384         <- "name = value" leaf
    \tmaxComputeWorkGroupSize: count = 3    <- "name: count = N" list node
    \t\t1024                                <- bare items belong to the node above
    memoryHeaps: count = 1
    \tmemoryHeaps[0]:                       <- "name:" node
    \t\tsize   = 25276514304 (0x5e2990000) (23.54 GiB)
    \t\tpropertyFlags = 0x000f: count = 4   <- "name = value: count = N" leaf+list

Every value gets a path of its enclosing names joined with '/', relative to the
device block it is in: "VkPhysicalDeviceLimits/maxImageDimension2D",
"VkPhysicalDeviceLimits/maxComputeWorkGroupSize/1" (list items are numbered),
"VkPhysicalDeviceMemoryProperties/memoryHeaps/memoryHeaps[0]/size". A node with
a count also gets the value "count=N" under its own path.

Usage:
  vkinfo.py get FILE [--gpu REGEX] PATTERN...      print matching path = value
  vkinfo.py compare A B [--gpu-a REGEX] [--gpu-b REGEX] PATTERN...
      compare every path matching a PATTERN (fnmatch glob) in A with B;
      prints "same|DIFF|MISSING path: a-value / b-value"; exit 1 on any
      difference, on a path missing from one side, or on a pattern matching
      nothing.
The device block is the first whose deviceName matches REGEX (default: the
first block).
"""
import argparse
import fnmatch
import re
import sys

GPU_RE = re.compile(r'^GPU(\d+):\s*$')
UNDERLINE_RE = re.compile(r'^[=\-]+\s*$')
COUNT_RE = re.compile(r'^(?P<name>.*?)(?:\s*=\s*(?P<value>.*?))?:\s*count\s*=\s*(?P<count>\d+)\s*$')
LEAF_RE = re.compile(r'^(?P<name>[^=]*?)\s*=\s*(?P<value>.*)$')


def indent_of(line):
    n = 0
    while n < len(line) and line[n] == '\t':
        n += 1
    return n


def parse(text):
    """Returns {'global': {path: value}, 'gpus': [{path: value}, ...]}."""
    result = {'global': {}, 'gpus': []}
    table = result['global']
    stack = []  # [(indent, name)] of open nodes; the indent of their header line
    item_counter = {}  # path -> next item index for bare items
    section = ''  # the current underlined header
    lines = [l.rstrip() for l in text.splitlines()]
    lines = [l for l in lines if l.strip()]
    for i, line in enumerate(lines):
        if UNDERLINE_RE.match(line):
            continue
        ind = indent_of(line)
        body = line.strip()
        if GPU_RE.match(line):
            table = {}
            result['gpus'].append(table)
            section = ''
            stack = []
            item_counter = {}
            continue
        if ind == 0 and i + 1 < len(lines) and UNDERLINE_RE.match(lines[i + 1]):
            # "VkPhysicalDeviceLimits:" / "Instance Extensions: count = 17"
            section = re.sub(r':.*$', '', body).strip()
            stack = []
            continue
        while stack and stack[-1][0] >= ind:
            stack.pop()
        parent = '/'.join([section] + [name for _, name in stack] if section
                          else [name for _, name in stack])

        def path_of(name):
            return parent + '/' + name if parent else name

        m = COUNT_RE.match(body)
        if m and m.group('name'):
            name = m.group('name').strip()
            p = path_of(name)
            table[p] = 'count=' + m.group('count')
            if m.group('value') is not None:
                table[p + '/value'] = m.group('value').strip()
            stack.append((ind, name))
            continue
        if body.endswith(':') and '=' not in body:
            name = body[:-1].strip()
            stack.append((ind, name))
            continue
        m = LEAF_RE.match(body)
        if m and m.group('name').strip():
            table[path_of(m.group('name').strip())] = m.group('value').strip()
            continue
        # A bare item (list element, flag name, extension line...).
        idx = item_counter.get(parent, 0)
        item_counter[parent] = idx + 1
        table[path_of(str(idx))] = body
    return result


def pick_gpu(parsed, regex):
    gpus = parsed['gpus']
    if not gpus:
        return None
    if not regex:
        return gpus[0]
    for g in gpus:
        if re.search(regex, g.get('VkPhysicalDeviceProperties/deviceName', '')):
            return g
    return None


def norm(value):
    """Numbers are compared by their first token: '25276514304 (0x5e2990000)
    (23.54 GiB)' -> '25276514304'."""
    tok = value.split()[0] if value.split() else value
    if re.match(r'^(0x[0-9a-fA-F]+|-?\d+(\.\d+)?)$', tok):
        return tok
    return value


def load(path, regex):
    with open(path, encoding='utf-8', errors='replace') as f:
        parsed = parse(f.read())
    gpu = pick_gpu(parsed, regex)
    if gpu is None:
        sys.stderr.write('vkinfo.py: %s: no device block%s\n'
                         % (path, ' with deviceName matching %r' % regex if regex else ''))
        sys.exit(2)
    return gpu


def cmd_get(args):
    gpu = load(args.file, args.gpu)
    found = False
    for pat in args.patterns:
        for p in sorted(k for k in gpu if fnmatch.fnmatchcase(k, pat)):
            print('%s = %s' % (p, gpu[p]))
            found = True
    return 0 if found else 1


def cmd_compare(args):
    a = load(args.a, args.gpu_a)
    b = load(args.b, args.gpu_b)
    bad = 0
    for pat in args.patterns:
        keys = sorted({k for k in a if fnmatch.fnmatchcase(k, pat)} |
                      {k for k in b if fnmatch.fnmatchcase(k, pat)})
        if not keys:
            print('MISSING %s: matches nothing on either side' % pat)
            bad += 1
            continue
        for k in keys:
            va, vb = a.get(k), b.get(k)
            if va is None or vb is None:
                print('MISSING %s: %s / %s' % (k, va, vb))
                bad += 1
            elif norm(va) != norm(vb):
                print('DIFF %s: %s / %s' % (k, va, vb))
                bad += 1
            else:
                print('same %s: %s' % (k, norm(va)))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    g = sub.add_parser('get')
    g.add_argument('file')
    g.add_argument('--gpu')
    g.add_argument('patterns', nargs='+')
    c = sub.add_parser('compare')
    c.add_argument('a')
    c.add_argument('b')
    c.add_argument('--gpu-a')
    c.add_argument('--gpu-b')
    c.add_argument('patterns', nargs='+')
    args = ap.parse_args()
    return cmd_get(args) if args.cmd == 'get' else cmd_compare(args)


if __name__ == '__main__':
    sys.exit(main())
