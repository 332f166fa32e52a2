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

#include "compositor/input.h"

/* http_request.c: what a complete request head (NUL-terminated, ending
 * in an empty line) asks for. */
enum vs_http_route {
   VS_HTTP_NOT_GET,        /* 405 */
   VS_HTTP_PAGE,           /* GET / or /index.html */
   VS_HTTP_NOT_FOUND,      /* 404 */
   VS_HTTP_BAD_UPGRADE,    /* GET /stream without a WebSocket upgrade: 400 */
   VS_HTTP_UPGRADE,        /* GET /stream, a WebSocket upgrade */
   VS_HTTP_OUTPUTS,        /* GET /outputs: the operator's list of outputs */
};
/* Where the request says it comes from: browsers send Origin with every
 * WebSocket upgrade (and with cross-origin requests); tools need not. */
enum vs_http_origin {
   VS_HTTP_ORIGIN_NONE,    /* no Origin header */
   VS_HTTP_ORIGIN_SAME,    /* http:// or https:// and the request's own Host */
   VS_HTTP_ORIGIN_FOREIGN, /* any other (another site, "null", no Host) */
};
/* Sec-WebSocket-Accept: 28 base64 characters and a NUL. */
#define VS_WS_ACCEPT_SIZE 29
/* The longest viewer token (viewer_token.c) a request can carry. */
#define VS_HTTP_TOKEN_MAX 128
/* An output's name (display_internal.h): at most this many characters
 * of VS_OUTPUT_NAME_CHARS (a VM's: --vm-name's 24, "-N" and ".K"). */
#define VS_OUTPUT_NAME_MAX 40
#define VS_OUTPUT_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-._"
/* The Origin as logged: printable, cut to this many characters. */
#define VS_HTTP_ORIGIN_LOG_MAX 100
struct vs_http_request {
   enum vs_http_route route;
   char accept[VS_WS_ACCEPT_SIZE];                /* VS_HTTP_UPGRADE: the handshake's answer */
   bool token_given;                              /* the query has token= */
   char token[VS_HTTP_TOKEN_MAX + 1];             /* its value; "" when too long or not a token's characters */
   bool output_given;                             /* the query has output= */
   char output[VS_OUTPUT_NAME_MAX + 1];           /* its value; "" when too long or not a name's characters */
   enum vs_http_origin origin;
   char origin_text[VS_HTTP_ORIGIN_LOG_MAX + 1];  /* for the log; "" without one */
};
void vs_http_parse_request(const char *req, struct vs_http_request *out);

/* viewer_token.c: the credential a viewer's requests carry (?token=).
 * Generated ones are VS_VIEWER_TOKEN_BYTES random bytes in hex; configured
 * ones are VS_VIEWER_TOKEN_MIN..VS_HTTP_TOKEN_MAX characters that need no
 * escaping in a URL (A-Z a-z 0-9 - . _ ~). */
#define VS_VIEWER_TOKEN_BYTES 16
#define VS_VIEWER_TOKEN_MIN 32
bool vs_viewer_token_valid(const char *token);
void vs_viewer_token_hex(const uint8_t random[VS_VIEWER_TOKEN_BYTES], char out[2 * VS_VIEWER_TOKEN_BYTES + 1]);
/* Whether `given` is `expected`, in a time that does not depend on where
 * they differ (nor on `given`'s length up to VS_HTTP_TOKEN_MAX). */
bool vs_viewer_token_equal(const char *given, const char *expected);

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
   VS_VIEWER_MODE = 7,     /* u32 width, u32 height: the viewer's window, for the guest's mode (12 bytes) */
};
/* The largest side a viewer may ask for. */
#define VS_VIEWER_MODE_SIDE_MAX 16384u
struct vs_viewer_message {
   uint8_t type;
   uint32_t seq;                      /* VS_VIEWER_ACK */
   uint32_t width, height;            /* VS_VIEWER_MODE: 1..VS_VIEWER_MODE_SIDE_MAX each */
   struct vs_input_event input;       /* input types; time_ms is the caller's */
};
/* False (logged with `viewer`) if the message is no message of ours. */
bool vs_viewer_decode(const uint8_t *m, size_t len, uint32_t viewer, struct vs_viewer_message *out);
/* Whether a decoded input event is in range (false is logged). */
bool vs_viewer_input_valid(const struct vs_input_event *e, uint32_t viewer);

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
