#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Decodes a recorded Annex B stream (ffmpeg; without it, openh264:
openh264_frames.py) and checks it.

  check_stream.py numbers FILE W H MIN_FRAMES [SPLIT]   wl_frames' numbered
      frames: every frame whole (top and bottom halves agree, bars clean
      black or white), numbers strictly increasing (none stale, none out of
      order); with SPLIT (two runs in one stream, the second numbered from
      SPLIT + 1), MIN_FRAMES frames of each run; $CHECK_STREAM_REPEATS: how
      many times a frame may follow itself (a viewer that joins is sent the
      shown frame again, as a key frame, and the recording gets it too);
      $CHECK_STREAM_TRIM=1: frames before the first numbered frame and
      after the last are left out (a VM's console on the same scanout), a
      numbered frame being one whose bars read clean and the same number
      above 0 on four rows
  check_stream.py cube FILE W H MIN_FRAMES [RUNS]   vkcube: frames not
      blank (luma spread) and changing (distinct frames); $CHECK_STREAM_TRIM=1:
      blank frames before the first frame that is not and after the last
      are left out (a VM's console and an empty desktop around the client);
      with RUNS (a client shown in that many sessions one after another,
      a blank console between them), exactly RUNS runs of frames not blank,
      each of MIN_FRAMES at least, with only blank frames between them
  check_stream.py size FILE W H MIN_FRAMES      at least MIN_FRAMES frames of
      W x H (ffprobe), e.g. weston-simple-shm's window in a stream
Prints one summary line; exit 1 on failure."""
import os, hashlib, json, shutil, subprocess, sys

BARS = 16


def frames(path, w, h):
    if shutil.which('ffmpeg') is None:
        # A host without ffmpeg (a GPU host without a package registry):
        # openh264 decodes the recorded Baseline stream to the same frames.
        from openh264_frames import frames as openh264_frames
        return openh264_frames(path, w, h)
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
                         check=True, stdout=subprocess.PIPE).stdout
    n = w * h
    return [raw[i:i + n] for i in range(0, len(raw) - n + 1, n)]


def numbered(f, w, h):
    """The number frame f shows on four rows alike, or 0."""
    seen = set()
    for y in (h // 8, h // 4, 3 * h // 4, 7 * h // 8):
        bits = 0
        for b in range(BARS):
            v = f[y * w + (2 * b + 1) * w // (2 * BARS)]
            if 60 < v < 195:
                return 0
            if v >= 128:
                bits |= 1 << b
        seen.add(bits)
    return seen.pop() if len(seen) == 1 else 0


def trim(fs, keep):
    """With $CHECK_STREAM_TRIM=1, fs from its first frame keep() takes to its
    last, and a note of how many were left out; else fs and no note."""
    if os.environ.get('CHECK_STREAM_TRIM') != '1':
        return fs, ''
    marks = [k for k, f in enumerate(fs) if keep(f)]
    lead, trail = (marks[0], len(fs) - 1 - marks[-1]) if marks else (len(fs), 0)
    return (fs[marks[0]:marks[-1] + 1] if marks else []), ' (%d frames before and %d after left out)' % (lead, trail)


def blank(f):
    """Whether frame f is one flat shade (its sampled luma spread is small)."""
    sample = f[::97]
    return max(sample) - min(sample) < 40


def numbers(path, w, h, need, split=None):
    fs, trimmed = trim(frames(path, w, h), lambda f: numbered(f, w, h))
    repeats_left = int(os.environ.get('CHECK_STREAM_REPEATS', '0'))
    bad, prev, seen = [], 0, []
    for k, f in enumerate(fs):
        halves = []
        for y in (h // 4, 3 * h // 4):
            bits = 0
            for b in range(BARS):
                x = (2 * b + 1) * w // (2 * BARS)
                v = f[y * w + x]
                if 60 < v < 195:
                    bad.append('frame %d: bar %d at y=%d reads %d (neither black nor white): torn or garbage' % (k, b, y, v))
                if v >= 128:
                    bits |= 1 << b
            halves.append(bits)
        if halves[0] != halves[1]:
            bad.append('frame %d: top half shows %d, bottom half %d: torn' % (k, halves[0], halves[1]))
        n = halves[0]
        if n == prev and repeats_left > 0:
            repeats_left -= 1  # the shown frame again, as a joining viewer's key frame
        elif n <= prev:
            bad.append('frame %d: shows %d after %d: stale or out of order' % (k, n, prev))
        prev = max(prev, n)
        seen.append(n)
    runs = ''
    if split is None:
        if len(fs) < need:
            bad.append('only %d frames decoded (want >= %d)' % (len(fs), need))
    else:
        first, second = sum(1 for n in seen if n <= split), sum(1 for n in seen if n > split)
        runs = ' (%d of the first run, %d of the second)' % (first, second)
        if first < need or second < need:
            bad.append('runs of %d and %d frames decoded (want >= %d each)' % (first, second, need))
    print('%d frames decoded%s%s, numbers %s..%s, %d problems%s' % (
        len(fs), trimmed, runs, seen[0] if seen else '-', seen[-1] if seen else '-', len(bad),
        (': ' + '; '.join(bad[:5])) if bad else ''))
    return not bad


def cube(path, w, h, need, runs=0):
    fs, trimmed = trim(frames(path, w, h), lambda f: not blank(f))
    distinct = len({hashlib.md5(f).digest() for f in fs})
    blanks = sum(1 for f in fs if blank(f))
    if not runs:
        ok = len(fs) >= need and blanks == 0 and distinct >= len(fs) // 2
        print('%d frames decoded%s, %d distinct, %d blank' % (len(fs), trimmed, distinct, blanks))
        return ok
    lengths = []
    for i, f in enumerate(fs):
        if blank(f):
            continue
        if i == 0 or blank(fs[i - 1]):
            lengths.append(0)
        lengths[-1] += 1
    ok = len(lengths) == runs and min(lengths) >= need and distinct >= len(fs) // 2
    print('%d frames decoded%s, %d distinct, %d blank between runs of %s frames (want %d runs of >= %d)' % (
        len(fs), trimmed, distinct, blanks, ' and '.join(str(n) for n in lengths) or 'no', runs, need))
    return ok


def size(path, w, h, need):
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v', '-show_frames', '-show_entries',
                          'frame=width,height', '-of', 'json', path], check=True, stdout=subprocess.PIPE).stdout
    fr = json.loads(out).get('frames', [])
    match = sum(1 for f in fr if f.get('width') == w and f.get('height') == h)
    print('%d frames, %d of them %dx%d' % (len(fr), match, w, h))
    return match >= need


if __name__ == '__main__':
    mode, path, w, h, need = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    extra = [int(a) for a in sys.argv[6:7]] if mode in ('numbers', 'cube') else []
    sys.exit(0 if {'numbers': numbers, 'cube': cube, 'size': size}[mode](path, w, h, need, *extra) else 1)
