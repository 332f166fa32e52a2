/* SPDX-License-Identifier: MIT */
/* Between the parts of the display (struct vs_display, display.c, owns
 * them all and wires them together; none calls another directly): the
 * Wayland thread (display.c) hands frames to the encoder (stream.c, latest
 * frame wins); the encoder hands them back (so the Wayland thread releases
 * the buffers) and hands access units to its sinks: the recording
 * (record.c) and the HTTP thread (http.c), which paces the encoder through
 * the sink's readiness and reports viewers' key requests and input back
 * through its events, which the display passes to the encoder and to the
 * seat (compositor/seat.c, on the Wayland thread). */
#ifndef VS_DISPLAY_INTERNAL_H
#define VS_DISPLAY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "renderer/memory/shared_registry.h"
#include "compositor/seat.h"
#include "transport/display/viewer_wire.h"

struct vs_display_buffer;
struct wl_display;
struct wl_resource;

/* One committed buffer on its way through the encoder. */
struct vs_frame {
   struct vs_frame *next;
   struct vs_display_buffer *buffer;  /* the Wayland thread's; NULL for shm copies */
   const uint8_t *pixels;             /* first row */
   uint32_t width, height, stride;
   uint32_t fourcc;                   /* DRM format */
   bool has_view;
   struct vs_shared_view view;        /* server memory: pinned, fenced at commit */
   uint8_t *owned;                    /* a copy the frame owns (wl_shm) */
   uint32_t copies;                   /* full-frame copies before the conversion */
   uint64_t commit_ns;
   double commit_wall_ms;
   bool encoded;
   /* A VM channel commit: RELEASE goes back to this guest session once no
    * frame of the resource is in flight. */
   uint64_t vm_session;
   uint32_t vm_surface, vm_res_id;
};

/* A guest's cursor on its way to an output's viewers. */
struct vs_cursor_image {
   uint32_t width, height, hot_x, hot_y; /* 0x0: none */
   uint8_t rgba[];                       /* width x height pixels, R G B A */
};

/* client_limits.c: at most this many live wl_shm_pools (each a mapping in
 * the server) and wl_buffers per Wayland client; past them the client is
 * disconnected with one log line. `clients` is the caller's, linked into
 * the display until it is destroyed; its count of connected clients may
 * be read from any thread. */
#define VS_DISPLAY_MAX_SHM_POOLS 256
#define VS_DISPLAY_MAX_BUFFERS 1024
struct vs_display_clients {
   struct wl_listener created;
   atomic_uint count;
};
void vs_display_limit_clients(struct wl_display *display, struct vs_display_clients *clients);

/* One encoded access unit (Annex B, SPS/PPS before every key frame). */
struct vs_access_unit {
   const uint8_t *data;
   size_t size;
   bool key;
   uint32_t seq;                      /* picture number */
   uint32_t width, height;
   uint64_t commit_ns;                /* monotonic time of the commit it shows */
   double commit_wall_ms;             /* wall-clock time of the same */
};

/* Where the encoder hands its access units. */
struct vs_stream_sink {
   /* On the encoder thread; the sink copies what it keeps. */
   void (*send)(void *data, const struct vs_access_unit *unit);
   /* Whether the sink has room for another now; NULL: always. While no
    * sink has room the encoder waits (newer commits replace the pending
    * frame), until vs_stream_kick. */
   bool (*ready)(void *data);
   void *data;
};
#define VS_STREAM_MAX_SINKS 4

/* stream.c: the encoder. Created without a thread (its functions below
 * may be called at once), given its sinks, then run. */
struct vs_stream;
struct vs_x264;
/* `x264`: the encoder library (vs_x264_load), loaded for the process;
 * `output`: the name its log lines give. */
struct vs_stream *vs_stream_create(const struct vs_x264 *x264, unsigned fps, const char *output);
bool vs_stream_add_sink(struct vs_stream *stream, const struct vs_stream_sink *sink);
bool vs_stream_run(struct vs_stream *stream);
/* Joins the thread and logs the figures; the done frames stay to take. */
void vs_stream_stop(struct vs_stream *stream);
void vs_stream_destroy(struct vs_stream *stream);
/* Queues a frame; an older unencoded one goes back at once (replaced). */
void vs_stream_submit(struct vs_stream *stream, struct vs_frame *frame);
/* Frames the encoder is done with; the Wayland thread frees them. The fd
 * becomes readable when there are some. */
struct vs_frame *vs_stream_take_done(struct vs_stream *stream);
int vs_stream_done_fd(const struct vs_stream *stream);
/* A new viewer: the next access unit is an IDR (the last picture is
 * encoded again when nothing new comes). */
void vs_stream_request_key(struct vs_stream *stream);
/* A sink's readiness changed: the encoder looks again. */
void vs_stream_kick(struct vs_stream *stream);
/* An access unit reached a viewer (commit -> sent latency, for the
 * summary). */
void vs_stream_note_sent(struct vs_stream *stream, uint64_t commit_ns);

/* record.c: the --record file sink (each access unit written through at
 * once); `append`: after what the file holds (a live upgrade's). */
struct vs_record;
struct vs_record *vs_record_open(const char *path, bool append);
struct vs_stream_sink vs_record_sink(struct vs_record *record);
void vs_record_close(struct vs_record *record);


/* Outputs: what one stream shows. Output 0 is the newest window of the
 * Wayland socket (and of the VM channel); each VM device's scanout is an
 * output of its own, from its first frame to the device's end. Each has
 * its own encoder, recording and viewers: nothing one output shows or does
 * reaches another's viewers. */
#define VS_DISPLAY_MAX_OUTPUTS 33
#define VS_DISPLAY_DESKTOP 0u

/* http.c: what the viewers ask of the rest of the display (any of these
 * on the HTTP thread), for the output they watch. */
struct vs_http_events {
   void (*want_key)(void *data, uint32_t output);      /* a viewer needs a key frame */
   void (*room)(void *data, uint32_t output);          /* the sink's readiness changed */
   void (*sent)(void *data, uint32_t output, uint64_t commit_ns); /* an access unit went out */
   void (*input)(void *data, uint32_t output, const struct vs_input_event *event); /* --input */
   void (*mode)(void *data, uint32_t output, uint32_t width, uint32_t height);    /* --input: a window's size */
   void *data;
};
struct vs_http;
/* The viewers' TLS: a certificate chain and its key (PEM files), or none;
 * without, an address off loopback is refused unless `plain_anywhere`. */
struct vs_http_tls {
   const char *cert, *key;
   bool plain_anywhere;
};
/* NULL (the reason logged) if the endpoint cannot be set up. `token`:
 * the server's, what every page and stream may be opened with, or NULL
 * for a random one; the page's URL with it is printed once on stdout, or
 * logged (`url_in_log`). */
struct vs_display_hand_over;
/* `carried`: a live upgrade's tokens (NULL: none), the server's used
 * unless `token` is given, each output's once for the output of its name
 * (a malformed one is not, with one line). */
struct vs_http *vs_http_start(const char *addr_port, bool input, const char *token, bool url_in_log,
                              const struct vs_http_tls *tls, const struct vs_http_events *events,
                              const struct vs_display_hand_over *carried);
/* The tokens now: the server's and each output's. */
void vs_http_hand_over(struct vs_http *h, struct vs_display_hand_over *tokens);
/* An output (< VS_DISPLAY_MAX_OUTPUTS, not in use) viewers may watch from
 * now on: its name (VS_OUTPUT_NAME_CHARS) and what it shows, for the log
 * line that gives its page's URL with a token of its own; `vm`: the VM
 * device whose `scanout` it shows (0: none), whose outputs share the VM's
 * token (scanout 0's own) and whose viewers are told it came, and when it
 * goes. False (logged) without a token. */
bool vs_http_add_output(struct vs_http *http, uint32_t output, const char *name, const char *what, uint32_t vm,
                        uint32_t scanout);
/* The output ends: its viewers are closed, one line each. Its sink must
 * not be called any more (its stream stopped). */
void vs_http_remove_output(struct vs_http *http, uint32_t output);
/* Sends one access unit to the output's viewers (copied); ready is false
 * while every viewer of it that acknowledges frames has a full window of
 * unacknowledged ones, so a slow viewer gets fewer frames, never older
 * ones. */
struct vs_stream_sink vs_http_sink(struct vs_http *http, uint32_t output);
/* The output's cursor from now on, for its viewers and those to come
 * (copied). */
void vs_http_cursor(struct vs_http *http, uint32_t output, const struct vs_cursor_image *cursor);
/* Closes the viewers and joins the thread; the sink drops what it gets
 * after this. */
void vs_http_stop(struct vs_http *http);
void vs_http_destroy(struct vs_http *http);


#define VS_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define VS_FMT_XRGB8888 VS_FOURCC('X', 'R', '2', '4')
#define VS_FMT_ARGB8888 VS_FOURCC('A', 'R', '2', '4')
#define VS_FMT_XBGR8888 VS_FOURCC('X', 'B', '2', '4')
#define VS_FMT_ABGR8888 VS_FOURCC('A', 'B', '2', '4')

#endif
