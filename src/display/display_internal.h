/* Between the display's three threads: the Wayland thread (display.c)
 * hands frames to the encoder (stream.c, latest frame wins); the encoder
 * hands them back (so the Wayland thread releases the buffers) and sends
 * access units to the recording and the HTTP thread (http.c), which paces
 * the encoder to what the viewers consume and hands their input to the
 * seat (seat.c, on the Wayland thread). */
#ifndef VS_DISPLAY_INTERNAL_H
#define VS_DISPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/shared_registry.h"

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
};

/* stream.c */
/* client_limits.c: at most this many live wl_shm_pools (each a mapping in
 * the server) and wl_buffers per Wayland client; past them the client is
 * disconnected with one log line. */
#define VS_DISPLAY_MAX_SHM_POOLS 256
#define VS_DISPLAY_MAX_BUFFERS 1024
struct wl_display;
void vs_display_limit_clients(struct wl_display *display);

struct vs_x264;
/* Starts the encoder thread with the encoder library of vs_x264_load. */
bool vs_stream_start(const struct vs_x264 *x264, const char *record_path, unsigned fps);
void vs_stream_stop(void);
/* Queues a frame; an older unencoded one goes back at once (replaced). */
void vs_stream_submit(struct vs_frame *frame);
/* Frames the encoder is done with; the Wayland thread frees them. The fd
 * becomes readable when there are some. */
struct vs_frame *vs_stream_take_done(void);
int vs_stream_done_fd(void);
/* A new viewer: the next access unit is an IDR (the last picture is
 * encoded again when nothing new comes). */
void vs_stream_request_key(void);
/* The viewers' readiness changed (vs_http_ready): the encoder looks again. */
void vs_stream_kick(void);

/* http.c */
bool vs_http_start(const char *addr_port, bool input);
void vs_http_stop(void);
/* False while every viewer that acknowledges frames has a full window of
 * unacknowledged ones: the encoder then waits (newer commits replace the
 * pending frame), so a slow viewer gets fewer frames, never older ones. */
bool vs_http_ready(void);
/* One access unit for every viewer (copied). */
void vs_http_send(const uint8_t *data, size_t size, bool key, double commit_wall_ms, uint64_t commit_ns,
                  uint32_t seq, uint32_t width, uint32_t height);
/* Commit -> send latencies, for the summary (ns). */
void vs_stream_note_sent(uint64_t commit_ns);

/* display.c: the shown surface (the focus) and its buffer size; NULL if none. */
struct wl_resource *vs_display_shown(uint32_t *width, uint32_t *height);

/* seat.c: input from the viewers, delivered to the shown surface. */
enum vs_input_type {
   VS_INPUT_MOTION = 3,   /* x, y: surface coordinates, wl_fixed (24.8) */
   VS_INPUT_BUTTON = 4,   /* code: evdev button (BTN_LEFT 0x110...), state 0/1 */
   VS_INPUT_AXIS = 5,     /* code: 0 vertical, 1 horizontal; x: wl_fixed */
   VS_INPUT_KEY = 6,      /* code: evdev key, state 0/1 */
};
struct vs_input_event {
   uint32_t type, code, state, time_ms;
   int32_t x, y;
};
bool vs_seat_start(struct wl_display *display);
void vs_seat_stop(void);
/* Any thread; the Wayland thread delivers it (a full queue drops it). */
void vs_seat_queue(const struct vs_input_event *event);

#define VS_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define VS_FMT_XRGB8888 VS_FOURCC('X', 'R', '2', '4')
#define VS_FMT_ARGB8888 VS_FOURCC('A', 'R', '2', '4')
#define VS_FMT_XBGR8888 VS_FOURCC('X', 'B', '2', '4')
#define VS_FMT_ABGR8888 VS_FOURCC('A', 'B', '2', '4')

#endif
