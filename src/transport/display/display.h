/* SPDX-License-Identifier: MIT */
/* The built-in display: a Wayland compositor socket the guest's WSI (and
 * any Wayland client) presents to, whose output is encoded as H.264 for a
 * file (--record) and for browsers (--http). Lives at the transport level
 * (like src/vtest) and reads frames straight from the server's own memory
 * (renderer/memory/shared_registry.h). See README "Display". */
#ifndef VS_DISPLAY_H
#define VS_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

struct vs_vm_resource_table;
struct vs_shared_registry;
struct vs_input_event;

/* What a live upgrade carries of the display to the new image: the
 * viewers' listening socket (viewers reconnect to the same port, and
 * connections made meanwhile wait in its backlog) and their tokens, the
 * server's and each output's (and its VM's) by output name, so that the
 * URLs viewers hold open the new image's outputs. Fixed-size: it crosses
 * in the upgrade's record, and is checked as input. */
#define VS_DISPLAY_HAND_OVER_OUTPUTS 64
struct vs_display_output_tokens {
   char name[41];
   char token[33], vm_token[33]; /* vm_token "": not a VM's output */
};
struct vs_display_hand_over {
   char server[129];
   int32_t http_fd; /* -1: none */
   uint32_t outputs;
   struct vs_display_output_tokens output[VS_DISPLAY_HAND_OVER_OUTPUTS];
};

struct vs_display_options {
   const char *name;      /* Wayland socket name in $XDG_RUNTIME_DIR */
   const char *http;      /* ADDR:PORT, or NULL for no HTTP endpoint */
   const char *http_token; /* what viewers must present ($VENUS_SERVER_HTTP_TOKEN), or NULL: random */
   const char *http_cert, *http_key; /* --http-cert, --http-key: the viewers' TLS; NULL: plain */
   bool http_plain;        /* --http-plain: plain off loopback too */
   const char *record;    /* Annex B output file, or NULL */
   unsigned fps;          /* stream rate: frame callbacks and encoder pacing */
   bool input;            /* viewers' pointer and keys reach the guest (wl_seat) */
   /* The page's URL is logged (stderr) instead of printed: under a VMM the
    * server's stdout is /dev/null, and its stderr is the VMM's log. */
   bool url_in_log;
   /* $XDG_RUNTIME_DIR, or NULL: the display makes a private one */
   const char *runtime_dir;
   /* The server memory Wayland clients' dma-bufs are found in: the
    * registry every context registers its host-pointer memory with. */
   struct vs_shared_registry *shared_registry;
   /* The VM presentation channel (transport/vmchannel/vmchannel.h): PATH
    * or listen:PATH, or NULL for none; the VM's resources it names. */
   const char *vm_channel;
   uint32_t vm_width, vm_height; /* what the guest is asked for; 0: VM_WIDTH x VM_HEIGHT */
   struct vs_vm_resource_table *resource_table;
   /* What a live upgrade carried (NULL: all made anew), and whether each
    * output's recording goes on at the end of its file. */
   const struct vs_display_hand_over *hand_over;
   bool record_append;
   /* VM devices' outputs are named this (the first; later ones NAME-N, N
    * the device's number; a device's scanout K > 0 that name and ".K"), a
    * name of VS_OUTPUT_NAME_CHARS with room for "-N.K" (--vm-name); NULL:
    * vm-N. */
   const char *vm_name;
};

struct vs_display;

enum vs_display_start_result {
   VS_DISPLAY_STARTED,
   /* No usable libx264 (loaded at run time): no display, the reason
    * logged; the server goes on serving Vulkan. */
   VS_DISPLAY_UNAVAILABLE,
   /* The socket, the encoder thread or the HTTP endpoint cannot be set up
    * (the reason logged): the server should not start. */
   VS_DISPLAY_FAILED,
};

/* Starts the display threads; `*display` is the display when started, else
 * NULL. */
enum vs_display_start_result vs_display_start(const struct vs_display_options *options, struct vs_display **display);

/* A frame of `source`'s scanout `scanout` (a VM device's, source > 0)
 * from any thread: B8G8R8X8 pixels copied before it returns, shown as that
 * scanout's surface, on an output of its own, on the display's thread
 * (the newest frame of a scanout replaces one not yet taken). */
void vs_display_show_frame(struct vs_display *display, uint32_t source, uint32_t scanout, const uint8_t *pixels,
                           uint32_t width, uint32_t height, uint32_t stride);
/* The cursor of the source's scanout, from any thread: `pixels`
 * B8G8R8A8, rows width x 4 apart, at most VS_DISPLAY_CURSOR_SIDE each
 * way, copied before it returns; NULL: none. Its output's viewers show it
 * as their pointer, `hot_x`, `hot_y` being the point. */
#define VS_DISPLAY_CURSOR_SIDE 64u
void vs_display_show_cursor(struct vs_display *display, uint32_t source, uint32_t scanout, const uint8_t *pixels,
                            uint32_t width, uint32_t height, uint32_t hot_x, uint32_t hot_y);
/* The surface of the source's scanout goes, from any thread. */
void vs_display_hide_frame(struct vs_display *display, uint32_t source, uint32_t scanout);

/* Where viewer input goes while a source's surface is shown (with
 * --input): `event` as the seat got it on any of the source's scanouts'
 * outputs, for that surface's `width` x `height` pixels. Called on the display's thread; must not call the display. */
typedef void (*vs_display_source_input_fn)(void *data, uint32_t source, uint32_t width, uint32_t height,
                                           const struct vs_input_event *event);
/* Sets (or with NULL clears) the hook, from any thread; once cleared, no
 * call of the old one is still running. */
void vs_display_set_source_input(struct vs_display *display, vs_display_source_input_fn fn, void *data);

/* Where a viewer's window size goes (with --input): the size, for the
 * source's scanout its output shows, to become that scanout's mode.
 * Called on the display's thread; must not call the display. */
typedef void (*vs_display_source_mode_fn)(void *data, uint32_t source, uint32_t scanout, uint32_t width,
                                          uint32_t height);
/* Sets (or with NULL clears) the hook, from any thread; once cleared, no
 * call of the old one is still running. Without one, sizes go nowhere. */
void vs_display_set_source_mode(struct vs_display *display, vs_display_source_mode_fn fn, void *data);

/* What a live upgrade carries, from any thread: the viewers' socket
 * (close-on-exec cleared by the caller) and tokens now. */
void vs_display_hand_over(struct vs_display *display, struct vs_display_hand_over *hand_over);
/* The Wayland clients connected now, from any thread: a Wayland
 * connection cannot be handed to a new image. */
unsigned vs_display_wayland_clients(struct vs_display *display);

/* Stops the threads, flushes the recording, logs the display's figures,
 * frees it all. */
void vs_display_stop(struct vs_display *display);

#endif
