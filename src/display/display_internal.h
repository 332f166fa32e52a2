/* Between the display's three threads: the Wayland thread (display.c)
 * hands frames to the encoder (stream.c, latest frame wins); the encoder
 * hands them back (so the Wayland thread releases the buffers) and sends
 * access units to the recording and the HTTP thread (http.c). */
#ifndef VS_DISPLAY_INTERNAL_H
#define VS_DISPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/shared_registry.h"

struct vs_display_buffer;

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
bool vs_stream_start(const char *record_path, unsigned fps);
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

/* http.c */
bool vs_http_start(const char *addr_port);
void vs_http_stop(void);
/* One access unit for every viewer (copied). */
void vs_http_send(const uint8_t *data, size_t size, bool key, double commit_wall_ms, uint64_t commit_ns,
                  uint32_t seq, uint32_t width, uint32_t height);
/* Commit -> send latencies, for the summary (ns). */
void vs_stream_note_sent(uint64_t commit_ns);

#define VS_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define VS_FMT_XRGB8888 VS_FOURCC('X', 'R', '2', '4')
#define VS_FMT_ARGB8888 VS_FOURCC('A', 'R', '2', '4')
#define VS_FMT_XBGR8888 VS_FOURCC('X', 'B', '2', '4')
#define VS_FMT_ABGR8888 VS_FOURCC('A', 'B', '2', '4')

#endif
