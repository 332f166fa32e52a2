/* SPDX-License-Identifier: MIT */
/* A viewer's WebSocket frames (RFC 6455, client to server): see
 * viewer_wire.h. Extended lengths (126/127) are refused, not read: a
 * viewer has nothing that long to say. */
#include "transport/display/viewer_wire.h"
#include "base/log.h"

bool
vs_ws_frames(uint8_t *buf, size_t len, uint32_t viewer, bool (*message)(void *data, const uint8_t *m, size_t len),
             void *data, size_t *used)
{
   size_t off = 0;
   bool ok = true;
   while (ok && len - off >= 2) {
      uint8_t b0 = buf[off], b1 = buf[off + 1];
      size_t size = b1 & 0x7f;
      /* FIN set, no extension bits, masked, no extended length. */
      if (!(b1 & 0x80) || size > VS_WS_MAX_PAYLOAD || (b0 & 0x70) || !(b0 & 0x80)) {
         vs_warn(0, "display: viewer %u sent a WebSocket frame that is unmasked, fragmented, extended or over "
                    "125 bytes; closed", viewer);
         *used = off;
         return false;
      }
      if (len - off < 6 + size)
         break;
      uint8_t *mask = buf + off + 2, *p = buf + off + 6;
      for (size_t i = 0; i < size; i++)
         p[i] ^= mask[i % 4];
      uint8_t op = b0 & 0x0f;
      if (op == 0x8) {
         *used = off + 6 + size;
         return false; /* close */
      }
      if (op == 0x2)
         ok = message(data, p, size);
      else if (op != 0x9 && op != 0xA) {
         vs_warn(0, "display: viewer %u sent a WebSocket frame of opcode %u (binary expected); closed", viewer, op);
         *used = off;
         return false;
      }
      off += 6 + size;
   }
   *used = off;
   return ok;
}
