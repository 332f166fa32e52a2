#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads venus-server's Venus capset over vtest, as a guest driver does, and
prints its fields one per line (python3 standard library only):

    vtest_capset.py SOCKET
        wire_format_version N / vk_xml_version MAJOR.MINOR.PATCH /
        vk_ext_command_serialization_spec_version N /
        vk_mesa_venus_protocol_spec_version N / supports_blob_id_0 N /
        mask_words N (words up to the last set bit) / mask_bits N,N,... /
        allow_vk_wait_syncs N / supports_multiple_timelines N / use_guest_vram N
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtest_garbage import CAPSET_VENUS, VCMD_GET_CAPSET, Client, hdr, u32  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    c = Client(sys.argv[1], 10)
    c.handshake(name=b'vtest-capset', upto='param')
    c.send(hdr(2, VCMD_GET_CAPSET) + u32(CAPSET_VENUS, 0))
    body = c.expect(41, VCMD_GET_CAPSET)
    fields = struct.unpack('<41I', body)
    valid, wire, xml, ser, venus, blob0 = fields[:6]
    mask = fields[6:38]
    wait_syncs, timelines, vram = fields[38:41]
    if valid != 1:
        print('capset not valid', file=sys.stderr)
        return 1
    bits = [w * 32 + b for w in range(32) for b in range(32) if mask[w] >> b & 1]
    print('wire_format_version %d' % wire)
    print('vk_xml_version %d.%d.%d' % (xml >> 22, (xml >> 12) & 0x3ff, xml & 0xfff))
    print('vk_ext_command_serialization_spec_version %d' % ser)
    print('vk_mesa_venus_protocol_spec_version %d' % venus)
    print('supports_blob_id_0 %d' % blob0)
    print('mask_words %d' % (max(b // 32 for b in bits) + 1 if bits else 0))
    print('mask_bits %s' % ','.join(str(b) for b in bits))
    print('allow_vk_wait_syncs %d' % wait_syncs)
    print('supports_multiple_timelines %d' % timelines)
    print('use_guest_vram %d' % vram)
    c.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
