#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Decodes a recorded Annex B H.264 stream with Cisco's openh264 (Debian's
libopenh264-7, through ctypes), for hosts without ffmpeg: the stream the
server's display records is Constrained Baseline, which openh264 decodes
whole. check_stream.py uses it where no ffmpeg is on PATH.

  openh264_frames.py FILE W H    prints how many W x H frames FILE holds

frames(path, w, h) returns each decoded frame's luma plane (w * h bytes),
in decoding order (Baseline has no B-frames: also display order), as
`ffmpeg -f rawvideo -pix_fmt gray` gives them: the stream's limited-range
luma (16..235) stretched to full range (0..255)."""
import ctypes, os, sys

_c = ctypes


class _SysMemBuffer(_c.Structure):
    _fields_ = [('iWidth', _c.c_int), ('iHeight', _c.c_int), ('iFormat', _c.c_int), ('iStride', _c.c_int * 2)]


class _BufferInfo(_c.Structure):
    # openh264 1.8 and later (libopenh264-7 is 2.3)
    _fields_ = [('iBufferStatus', _c.c_int), ('uiInBsTimeStamp', _c.c_ulonglong),
                ('uiOutYuvTimeStamp', _c.c_ulonglong), ('sSystemBuffer', _SysMemBuffer),
                ('pDst', _c.POINTER(_c.c_ubyte) * 3)]


class _VideoProperty(_c.Structure):
    _fields_ = [('size', _c.c_uint), ('eVideoBsType', _c.c_int)]


class _DecodingParam(_c.Structure):
    _fields_ = [('pFileNameRestructed', _c.c_char_p), ('uiCpuLoad', _c.c_uint), ('uiTargetDqLayer', _c.c_ubyte),
                ('eEcActiveIdc', _c.c_int), ('bParseOnly', _c.c_bool), ('sVideoProperty', _VideoProperty)]


_DECODE2 = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, _c.POINTER(_c.POINTER(_c.c_ubyte) * 3),
                        _c.POINTER(_BufferInfo))


class _Vtbl(_c.Structure):
    _fields_ = [('Initialize', _c.CFUNCTYPE(_c.c_long, _c.c_void_p, _c.POINTER(_DecodingParam))),
                ('Uninitialize', _c.CFUNCTYPE(_c.c_long, _c.c_void_p)),
                ('DecodeFrame', _c.c_void_p), ('DecodeFrameNoDelay', _DECODE2), ('DecodeFrame2', _DECODE2),
                ('FlushFrame', _c.c_void_p), ('DecodeParser', _c.c_void_p), ('DecodeFrameEx', _c.c_void_p),
                ('SetOption', _c.CFUNCTYPE(_c.c_long, _c.c_void_p, _c.c_int, _c.c_void_p)),
                ('GetOption', _c.c_void_p)]


DECODER_OPTION_END_OF_STREAM = 1
DECODER_OPTION_TRACE_LEVEL = 9
VIDEO_BITSTREAM_AVC = 1
ERROR_CON_DISABLE = 0
# Limited-range luma to full range, as swscale converts yuv420p to gray.
_FULL = bytes(min(255, max(0, (v - 16) * 255 * 2 // 219 + 1 >> 1)) for v in range(256))


def _nals(data):
    """The stream's NAL units, each with its start code."""
    starts, i = [], data.find(b'\x00\x00\x01')
    while i >= 0:
        starts.append(i - 1 if i > 0 and data[i - 1] == 0 else i)
        i = data.find(b'\x00\x00\x01', i + 3)
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


def frames(path, w, h):
    lib = _c.CDLL(os.environ.get('OPENH264_LIBRARY', 'libopenh264.so.7'))
    dec = _c.c_void_p()
    if lib.WelsCreateDecoder(_c.byref(dec)) != 0 or not dec:
        raise RuntimeError('openh264: WelsCreateDecoder failed')
    vt = _c.cast(_c.cast(dec, _c.POINTER(_c.c_void_p))[0], _c.POINTER(_Vtbl)).contents
    quiet = _c.c_int(0)
    vt.SetOption(dec, DECODER_OPTION_TRACE_LEVEL, _c.byref(quiet))
    param = _DecodingParam(eEcActiveIdc=ERROR_CON_DISABLE,
                           sVideoProperty=_VideoProperty(_c.sizeof(_VideoProperty), VIDEO_BITSTREAM_AVC))
    if vt.Initialize(dec, _c.byref(param)) != 0:
        raise RuntimeError('openh264: Initialize failed')
    out, dst, info = [], (_c.POINTER(_c.c_ubyte) * 3)(), _BufferInfo()

    def take():
        if info.iBufferStatus != 1:
            return
        sb = info.sSystemBuffer
        if sb.iWidth != w or sb.iHeight != h:
            raise RuntimeError('openh264: a %dx%d frame in a %dx%d stream' % (sb.iWidth, sb.iHeight, w, h))
        stride = sb.iStride[0]
        plane = _c.string_at(info.pDst[0], stride * (h - 1) + w)
        luma = plane if stride == w else b''.join(plane[y * stride:y * stride + w] for y in range(h))
        out.append(luma.translate(_FULL))

    with open(path, 'rb') as f:
        data = f.read()
    try:
        for nal in _nals(data):
            info = _BufferInfo()
            vt.DecodeFrame2(dec, nal, len(nal), dst, _c.byref(info))
            take()
        # The end of the stream: the last frame comes out.
        eos = _c.c_int(1)
        vt.SetOption(dec, DECODER_OPTION_END_OF_STREAM, _c.byref(eos))
        info = _BufferInfo()
        vt.DecodeFrame2(dec, None, 0, dst, _c.byref(info))
        take()
    finally:
        vt.Uninitialize(dec)
        lib.WelsDestroyDecoder(dec)
    return out


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    print('%d frames of %sx%s' % (len(frames(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))), sys.argv[2], sys.argv[3]))
