/* SPDX-License-Identifier: MIT */
/* What a viewer sends the HTTP endpoint (http.c), parsed without sockets:
 * the request head (http_request.c), its WebSocket frames (ws_frame.c) and
 * the messages they carry (viewer_message.c). Every byte here comes from
 * the network: lengths are checked before use, and a bad input is refused
 * (the caller closes that viewer with one log line). */
#ifndef VS_VIEWER_WIRE_H
#define VS_VIEWER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/display/display_internal.h"

/* http_request.c: what a complete request head (NUL-terminated, ending
 * in an empty line) asks for. */
enum vs_http_route {
   VS_HTTP_NOT_GET,        /* 405 */
   VS_HTTP_PAGE,           /* GET / or /index.html */
   VS_HTTP_NOT_FOUND,      /* 404 */
   VS_HTTP_BAD_UPGRADE,    /* GET /stream without a WebSocket upgrade: 400 */
   VS_HTTP_UPGRADE,        /* GET /stream, a WebSocket upgrade */
};
/* Sec-WebSocket-Accept: 28 base64 characters and a NUL. */
#define VS_WS_ACCEPT_SIZE 29
/* For VS_HTTP_UPGRADE, `accept` is the handshake's answer. */
enum vs_http_route vs_http_parse_request(const char *req, char accept[VS_WS_ACCEPT_SIZE]);

/* ws_frame.c: a viewer's frames are masked, unfragmented, of at most 125
 * bytes (ours are 4..12): binary (a message), close, ping and pong
 * (ignored). */
#define VS_WS_MAX_PAYLOAD 125
/* Unmasks the complete frames at the start of buf[0..len) in place and
 * hands each binary payload to `message` (false: the viewer is closed).
 * *used: the bytes of complete frames handled (the caller keeps the rest
 * for more bytes). False when the viewer is to be closed: a bad frame
 * (logged with `viewer`), a close frame, or `message` said so. */
bool vs_ws_frames(uint8_t *buf, size_t len, uint32_t viewer, bool (*message)(void *data, const uint8_t *m, size_t len),
                  void *data, size_t *used);

/* viewer_message.c: u8 type, 3 reserved, then little-endian fields, each
 * type of one size. */
enum vs_viewer_message_type {
   VS_VIEWER_ACK = 1,      /* u32 seq: every access unit up to seq is consumed (8 bytes) */
   VS_VIEWER_KEY = 2,      /* the viewer waits for a key frame (4 bytes) */
   /* 3..6: input (12 bytes; enum vs_input_type) */
};
struct vs_viewer_message {
   uint8_t type;
   uint32_t seq;                      /* VS_VIEWER_ACK */
   struct vs_input_event input;       /* input types; time_ms is the caller's */
};
/* False (logged with `viewer`) if the message is no message of ours. */
bool vs_viewer_decode(const uint8_t *m, size_t len, uint32_t viewer, struct vs_viewer_message *out);
/* Whether a decoded input event is in range (false is logged). */
bool vs_viewer_input_valid(const struct vs_input_event *e, uint32_t viewer);
/* A pointer coordinate (wl_fixed) within a surface of `size` pixels (0:
 * one): the page may round past its edge. Any size a Wayland client gives
 * (a wl_shm buffer may be 2^24 wide or more). */
int32_t vs_viewer_clamp_fixed(int32_t v, uint32_t size);

/* The access units sent to a viewer that acknowledges, not yet
 * acknowledged (a ring of seqs). */
#define VS_VIEWER_WINDOW 4
struct vs_viewer_window {
   uint32_t seq[VS_VIEWER_WINDOW];
   uint32_t head, n;
};
/* The caller checks n < VS_VIEWER_WINDOW first. */
void vs_viewer_window_push(struct vs_viewer_window *w, uint32_t seq);
/* Forgets every seq up to `seq` (serial-number order, so it wraps). */
void vs_viewer_window_ack(struct vs_viewer_window *w, uint32_t seq);

#endif
