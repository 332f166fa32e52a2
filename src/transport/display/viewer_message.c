/* SPDX-License-Identifier: MIT */
/* The viewers' messages (see viewer_wire.h) and the window of access
 * units a viewer has not acknowledged. */
#include "transport/display/viewer_wire.h"
#include "base/log.h"

static uint32_t
le32(const uint8_t *p)
{
   return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool
vs_viewer_decode(const uint8_t *m, size_t len, uint32_t viewer, struct vs_viewer_message *out)
{
   static const uint8_t sizes[] = { [VS_VIEWER_ACK] = 8, [VS_VIEWER_KEY] = 4, [VS_INPUT_MOTION] = 12,
                                    [VS_INPUT_BUTTON] = 12, [VS_INPUT_AXIS] = 12, [VS_INPUT_KEY] = 12,
                                    [VS_VIEWER_MODE] = 12 };
   uint8_t type = len ? m[0] : 0;
   if (!len || type >= sizeof(sizes) || !sizes[type] || len != sizes[type]) {
      vs_warn(0, "display: viewer %u sent a message of type %u and %zu bytes (no such message); closed", viewer,
              type, len);
      return false;
   }
   *out = (struct vs_viewer_message){ .type = type };
   if (type == VS_VIEWER_ACK) {
      out->seq = le32(m + 4);
      return true;
   }
   if (type == VS_VIEWER_KEY)
      return true;
   if (type == VS_VIEWER_MODE) {
      out->width = le32(m + 4);
      out->height = le32(m + 8);
      if (out->width - 1 >= VS_VIEWER_MODE_SIDE_MAX || out->height - 1 >= VS_VIEWER_MODE_SIDE_MAX) {
         vs_warn(0, "display: viewer %u asked for a %ux%u mode (1..%u a side); closed", viewer, out->width,
                 out->height, VS_VIEWER_MODE_SIDE_MAX);
         return false;
      }
      return true;
   }
   struct vs_input_event *e = &out->input;
   *e = (struct vs_input_event){ .type = type, .code = le32(m + 4), .state = le32(m + 8) };
   if (type == VS_INPUT_MOTION) {
      e->x = (int32_t)le32(m + 4);
      e->y = (int32_t)le32(m + 8);
      e->code = e->state = 0;
   } else if (type == VS_INPUT_AXIS) {
      e->x = (int32_t)e->state;
      e->state = 0;
   }
   return true;
}

bool
vs_viewer_input_valid(const struct vs_input_event *e, uint32_t viewer)
{
   bool ok;
   switch (e->type) {
   case VS_INPUT_MOTION:
      ok = true;
      break;
   case VS_INPUT_BUTTON:
      ok = e->code >= 0x110 && e->code <= 0x117 && e->state <= 1; /* BTN_LEFT..BTN_TASK */
      break;
   case VS_INPUT_AXIS:
      ok = e->code <= 1;
      break;
   case VS_INPUT_KEY: /* what the keymap has (evdev + 8 <= 255) */
      ok = e->code >= 1 && e->code <= 247 && e->state <= 1;
      break;
   default:
      ok = false;
      break;
   }
   if (!ok)
      vs_warn(0, "display: viewer %u sent input type %u with code %u state %u (out of range); closed", viewer,
              e->type, e->code, e->state);
   return ok;
}

void
vs_viewer_window_push(struct vs_viewer_window *w, uint32_t seq)
{
   w->seq[(w->head + w->n++) % VS_VIEWER_WINDOW] = seq;
}

void
vs_viewer_window_ack(struct vs_viewer_window *w, uint32_t seq)
{
   while (w->n && (int32_t)(seq - w->seq[w->head]) >= 0) {
      w->head = (w->head + 1) % VS_VIEWER_WINDOW;
      w->n--;
   }
}
