/* SPDX-License-Identifier: MIT */
/* libFuzzer target: what a viewer sends the display's HTTP endpoint, fed
 * to the parsers http.c uses (viewer_wire.h) the way http.c feeds them:
 *   byte 0      bit 0: --input; bits 1..7: how many bytes each socket read
 *               gives (1..128), so frames arrive split at any point
 *   then        a request head, up to the first empty line (the rest of
 *               the input if there is none), NUL-terminated as http.c
 *               keeps it: its route, token and Origin
 *   then        the viewer's WebSocket bytes, read into a buffer of http.c's
 *               size; decoded messages go through the ack window and the
 *               input range checks (and the seat's pointer clamp),
 *               between access units "sent" into the window as
 *               http_send does.
 * No sockets, no Wayland. Crashes, leaks, sanitizer reports and the traps
 * below (a broken invariant) are what count. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/display/viewer_wire.h"
#include "base/log.h"

/* http.c's sizes: the request buffer and the viewer's frame buffer. */
#define REQ_MAX 8192
#define IN_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct viewer {
   bool input;
   struct vs_viewer_window window;
   uint32_t next_seq;
};

static bool
on_message(void *data, const uint8_t *m, size_t len)
{
   struct viewer *v = data;
   if (len > VS_WS_MAX_PAYLOAD)
      __builtin_trap();
   struct vs_viewer_message msg;
   if (!vs_viewer_decode(m, len, 1, &msg))
      return false;
   if (msg.type == VS_VIEWER_ACK) {
      uint32_t before = v->window.n;
      vs_viewer_window_ack(&v->window, msg.seq);
      if (v->window.n > before || v->window.head >= VS_VIEWER_WINDOW)
         __builtin_trap();
      return true;
   }
   if (msg.type == VS_VIEWER_KEY)
      return true;
   /* A window's size: what the device's clamp relies on. */
   if (msg.type == VS_VIEWER_MODE) {
      if (msg.width < 1 || msg.width > VS_VIEWER_MODE_SIDE_MAX || msg.height < 1 ||
          msg.height > VS_VIEWER_MODE_SIDE_MAX)
         __builtin_trap();
      return true;
   }
   if (msg.input.type < VS_INPUT_MOTION || msg.input.type > VS_INPUT_KEY)
      __builtin_trap();
   if (!v->input)
      return true;
   if (!vs_viewer_input_valid(&msg.input, 1))
      return false;
   /* The seat clamps the pointer to the shown surface, whose size a
    * Wayland client picks: here each coordinate is clamped to a surface
    * as wide as the other one is (2^23 and more overflowed wl_fixed). */
   if (msg.input.type == VS_INPUT_MOTION) {
      int32_t x = msg.input.x, y = msg.input.y;
      int32_t cx = vs_input_clamp_fixed(x, (uint32_t)y), cy = vs_input_clamp_fixed(y, (uint32_t)x);
      if (cx < 0 || cx > (x < 0 ? 0 : x) || (int64_t)cx > ((int64_t)(y ? (uint32_t)y : 1)) * 256 - 1 || cy < 0 ||
          cy > (y < 0 ? 0 : y))
         __builtin_trap();
   }
   /* What the seat relies on (keymap: evdev + 8 <= 255; two axes). */
   if ((msg.input.type == VS_INPUT_KEY && (msg.input.code < 1 || msg.input.code > 247)) ||
       (msg.input.type == VS_INPUT_AXIS && msg.input.code > 1))
      __builtin_trap();
   return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   if (size < 1)
      return 0;
   struct viewer v = { .input = data[0] & 1 };
   size_t chunk = (size_t)(data[0] >> 1) + 1;
   data++;
   size--;

   /* The request head, as conn_read collects it. */
   const uint8_t *end = memmem(data, size, "\r\n\r\n", 4);
   size_t head = end ? (size_t)(end - data) + 4 : size;
   if (head >= REQ_MAX)
      head = REQ_MAX - 1;
   char *req = malloc(head + 1);
   if (!req)
      return 0;
   memcpy(req, data, head);
   req[head] = '\0';
   struct vs_http_request parsed;
   memset(&parsed, 0x55, sizeof(parsed));
   vs_http_parse_request(req, &parsed);
   if (parsed.route == VS_HTTP_UPGRADE && strnlen(parsed.accept, sizeof(parsed.accept)) != 28)
      __builtin_trap();
   if (strnlen(parsed.token, sizeof(parsed.token)) > VS_HTTP_TOKEN_MAX || (!parsed.token_given && parsed.token[0]))
      __builtin_trap();
   size_t shown = strnlen(parsed.origin_text, sizeof(parsed.origin_text));
   if (shown > VS_HTTP_ORIGIN_LOG_MAX || (parsed.origin == VS_HTTP_ORIGIN_NONE && shown))
      __builtin_trap();
   for (size_t i = 0; i < shown; i++)
      if (parsed.origin_text[i] < 0x20 || parsed.origin_text[i] > 0x7e)
         __builtin_trap(); /* the log line stays one printable line */
   /* A token matches only itself. */
   static const char token[] = "0123456789abcdef0123456789abcdef";
   if (vs_viewer_token_equal(parsed.token, token) != (strcmp(parsed.token, token) == 0))
      __builtin_trap();
   free(req);
   data += head;
   size -= head;

   /* The frames, as conn_read and viewer_frames take them. */
   uint8_t in[IN_MAX];
   size_t in_len = 0;
   while (size) {
      size_t room = sizeof(in) - in_len;
      if (room == 0)
         __builtin_trap(); /* http.c would read 0 bytes: a closed socket */
      size_t n = size < chunk ? size : chunk;
      if (n > room)
         n = room;
      memcpy(in + in_len, data, n);
      in_len += n;
      data += n;
      size -= n;
      size_t used = 0;
      bool ok = vs_ws_frames(in, in_len, 1, on_message, &v, &used);
      if (used > in_len)
         __builtin_trap();
      if (!ok)
         break;
      memmove(in, in + used, in_len - used);
      in_len -= used;
      /* An access unit goes out when the viewer has room. */
      if (v.window.n < VS_VIEWER_WINDOW)
         vs_viewer_window_push(&v.window, v.next_seq++);
   }
   return 0;
}
