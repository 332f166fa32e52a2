/* SPDX-License-Identifier: MIT */
/* A VM device's scanout, from its worker to the server's display. The
 * guest's RAM is mapped in the worker only, so the worker copies each
 * flushed frame into a framebuffer memfd the server made for the scanout
 * (mapped read/write there, read-only in the server) and announces it on
 * a socket pair: one message per frame, its sequence number and size.
 * Each scanout of a device has a channel of its own (its memfd and its
 * pair, served by an import loop of its own): all that follows holds
 * per scanout, each paced on its own (the worker waits for a scanout's
 * acknowledgement before that scanout's next frame only).
 *
 * One framebuffer, handed back and forth: the worker writes it only while
 * no frame is announced and unacknowledged; it writes the pixels, then
 * announces; the server reads the framebuffer only after an announcement,
 * copies the frame out and then acknowledges its sequence number. Before
 * writing the next frame the worker waits for that acknowledgement, so
 * the server never reads a frame being overwritten (no torn frame), and
 * every frame announced is the one read (no stale frame).
 *
 * A host blob on the scanout (a Venus context's memory, already shared)
 * is shown in place instead: the worker announces the frame with the
 * blob's fd, the server maps it (fault-safe, in whole pages) and reads the
 * frame from there, and the worker answers the guest's flush only after
 * the acknowledgement, so the guest never draws into a frame being read.
 * Both ends keep the same VS_SCANOUT_BUFFERS most recently shown buffers
 * (least recently shown goes first), so a buffer's fd crosses only when
 * the server does not hold it: double or triple buffering maps each
 * buffer once.
 *
 * The guest's cursor crosses the same way: the worker copies its image
 * into the cursor area at the start of the framebuffer memfd and
 * announces it (buffer VS_SCANOUT_CURSOR, with its hotspot); the server
 * reads it after the announcement and acknowledges it as a frame.
 *
 * The other way, beside the acknowledgements, the server asks the
 * scanout for a mode (a viewer's window size): the worker reads such a
 * request whenever it comes, and keeps only the latest.
 *
 * A server's import loop that starts again on a running worker (after a
 * live upgrade, or one that was not carried out) holds no buffer and has
 * shown nothing: it asks the worker to show its frame again. The worker
 * first announces VS_SCANOUT_RESET (both ends then hold no buffer), then
 * its scanout's frame and cursor as they are. What it announced before
 * the reset may name a buffer the server no longer holds: such a frame
 * is acknowledged unseen. */
#ifndef VS_TRANSPORT_VHOST_USER_SCANOUT_EXPORT_H
#define VS_TRANSPORT_VHOST_USER_SCANOUT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worker -> server, per frame; the pixels are B8G8R8X8. Buffer 0: in the
 * framebuffer, stride width x 4. VS_SCANOUT_CURSOR: the cursor's image
 * (B8G8R8A8, stride width x 4; 0x0: no cursor) in the cursor area, its
 * hotspot hot_x, hot_y. Otherwise in that buffer (ids never repeat),
 * `offset` bytes in, rows `stride` apart; the message carries its fd when
 * the server does not hold it (`buffer_size` bytes). */
struct vs_scanout_announce {
   uint32_t seq;
   uint32_t width, height;
   uint32_t stride;
   uint64_t buffer;
   uint64_t offset;
   uint64_t buffer_size;
   uint32_t hot_x, hot_y;
};

#define VS_SCANOUT_CURSOR UINT64_MAX
/* Both ends forget the buffers they held (no pixels; 0x0). */
#define VS_SCANOUT_RESET (UINT64_MAX - 1)

/* Server -> worker: the acknowledgement of frame `seq`, a mode asked
 * for (`width` x `height`, unchecked: the worker bounds it), or the
 * frame shown again (a reset first). */
enum vs_scanout_reply_kind {
   VS_SCANOUT_REPLY_ACK = 1,
   VS_SCANOUT_REPLY_MODE = 2,
   VS_SCANOUT_REPLY_RESHOW = 3,
};
struct vs_scanout_reply {
   uint32_t kind;
   uint32_t seq;
   uint32_t width, height;
};
/* The largest cursor image (what virtio-gpu guests use), and its area at
 * the start of the framebuffer memfd; the frame follows it. */
#define VS_SCANOUT_CURSOR_SIDE 64u
#define VS_SCANOUT_CURSOR_BYTES (VS_SCANOUT_CURSOR_SIDE * VS_SCANOUT_CURSOR_SIDE * 4u)

#define VS_SCANOUT_BUFFERS 4u
/* The widest and tallest frame a buffer may hold. */
#define VS_SCANOUT_MAX_SIDE 16384u

/* The buffers an end holds, the same on both ends. */
struct vs_scanout_buffers {
   struct {
      uint64_t id;       /* 0: a free slot */
      uint32_t last;     /* the sequence number it was last shown at */
      const uint8_t *map; /* the server's mapping */
      uint64_t size;
   } slot[VS_SCANOUT_BUFFERS];
};

/* The slot of buffer `id` shown at `seq`; *fresh when it was not held:
 * it then takes a free slot or the least recently shown one's (whose
 * mapping, on the server's end, the caller drops first). */
unsigned vs_scanout_buffers_slot(struct vs_scanout_buffers *buffers, uint64_t id, uint32_t seq, bool *fresh);

/* The framebuffer memfd's size for a frame of `pixels`: the cursor area,
 * then 4 bytes a pixel. */
uint64_t vs_scanout_framebuffer_size(uint64_t pixels);

/* --- the worker's end --- */

struct vs_scanout_export;

/* Device `device`'s scanout `scanout` (for log lines): maps
 * `framebuffer_fd` (`size` bytes) and keeps `notify_fd`; both fds are the
 * export's from then on. NULL on failure (logged, fds closed). */
struct vs_scanout_export *vs_scanout_export_create(uint32_t device, uint32_t scanout, int framebuffer_fd, uint64_t size,
                                                   int notify_fd);
void vs_scanout_export_destroy(struct vs_scanout_export *exp);

/* Copies a flushed frame into the framebuffer and announces it, after the
 * server acknowledged the one before. `bgr`: where each pixel's blue,
 * green and red bytes are among its 4, put in B8G8R8X8 order as they are
 * copied. A frame larger than the framebuffer is not exported; once the
 * server's end is gone, none is. */
void vs_scanout_export_frame(struct vs_scanout_export *exp, const uint8_t *pixels, uint32_t width, uint32_t height,
                             uint32_t stride, const uint8_t bgr[3]);

/* The guest's cursor: `pixels` (B8G8R8A8, at most VS_SCANOUT_CURSOR_SIDE
 * each way, rows `stride` apart) with its hotspot, or NULL: none shown.
 * Announced after the server acknowledged what came before. */
void vs_scanout_export_cursor(struct vs_scanout_export *exp, const uint8_t *pixels, uint32_t width, uint32_t height,
                              uint32_t stride, uint32_t hot_x, uint32_t hot_y);

/* The socket to poll for the server's requests (-1: none, any more). */
int vs_scanout_export_fd(const struct vs_scanout_export *exp);
/* The latest mode the server asked for since the last call, if any: read
 * off the socket when `readable` (without waiting), or kept from a wait
 * for an acknowledgement. */
bool vs_scanout_export_take_mode(struct vs_scanout_export *exp, bool readable, uint32_t *width, uint32_t *height);
/* Whether the server asked for the frame again since the last call (after
 * vs_scanout_export_take_mode read the socket): the reset is announced
 * then, and the caller exports the scanout's frame and cursor anew. */
bool vs_scanout_export_take_reshow(struct vs_scanout_export *exp);

/* A frame in buffer `buffer` (`fd`, `size` bytes; the fd stays the
 * caller's), shown in place: announced, then waited for until the server
 * has read it. */
void vs_scanout_export_buffer(struct vs_scanout_export *exp, uint64_t buffer, int fd, uint64_t size, uint64_t offset,
                              uint32_t stride, uint32_t width, uint32_t height);

/* --- the server's end --- */

/* Asks the worker on `notify_fd` for a `width` x `height` mode, without
 * waiting: false when its socket is full or gone (the request is lost). */
bool vs_scanout_request_mode(int notify_fd, uint32_t width, uint32_t height);
/* Where a device's scanout is asked for a mode, from any thread. */
typedef void (*vs_scanout_mode_fn)(void *data, uint32_t device, uint32_t scanout, uint32_t width, uint32_t height);

/* A checked frame in the server's read-only mapping; the callee copies
 * what it keeps before it returns. */
typedef void (*vs_scanout_show_fn)(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels,
                                   uint32_t width, uint32_t height, uint32_t stride);

/* A checked cursor image (B8G8R8A8, rows width x 4 apart; NULL and 0x0:
 * none) in the server's read-only mapping; the callee copies it. */
typedef void (*vs_scanout_cursor_fn)(void *data, uint32_t device, uint32_t scanout, const uint8_t *pixels,
                                     uint32_t width, uint32_t height, uint32_t hot_x, uint32_t hot_y);

/* The server's end of one scanout's frames (device `device`'s scanout
 * `scanout`): its framebuffer mapped read-only, its announcements'
 * socket, and what a loop that parks leaves for the next one. */
struct vs_scanout_import {
   uint32_t device, scanout;
   const uint8_t *framebuffer;
   uint64_t size;
   int notify_fd;
   /* Readable: the loop parks between an acknowledgement and its next
    * read (-1: never). */
   int park_fd;
   /* Each acknowledgement at least this long after the one before: a
    * guest flushing faster than the display shows waits, as a page flip
    * waits for the vertical blank (0: unpaced). */
   uint64_t frame_interval_ns;
   vs_scanout_show_fn show;
   vs_scanout_cursor_fn cursor;
   void *data;
   /* The last frame acknowledged, and whether the next loop asks for the
    * frame again first (a loop that parked sets it). */
   uint32_t seq;
   bool reshow;
};

/* Reads announcements until EOF or a malformed one (false, one log line;
 * the caller closes the fds) or until park_fd is readable (true: `imp`
 * holds what the next loop needs), showing each frame and acknowledging
 * it. */
bool vs_scanout_import_run(struct vs_scanout_import *imp);

#endif
