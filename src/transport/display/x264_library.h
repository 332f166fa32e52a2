/* SPDX-License-Identifier: MIT */
/* The H.264 encoder library, loaded at run time: the server starts without
 * libx264 (and on a distribution whose soname differs from the build
 * machine's: Debian 12 and 13 ship libx264.so.164, sid libx264.so.165), and
 * only the display goes without it. The build needs x264.h alone (its types
 * and constants); the library must be an x264 build whose structs are laid
 * out as that header says. */
#ifndef VS_X264_LIBRARY_H
#define VS_X264_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <x264.h>

/* The functions the encoder thread calls, as x264.h declares them. */
struct vs_x264 {
   int build;           /* the library's X264_BUILD */
   char library[64];    /* the name it was loaded by */
   int (*param_default_preset)(x264_param_t *param, const char *preset, const char *tune);
   int (*param_apply_profile)(x264_param_t *param, const char *profile);
   x264_t *(*encoder_open)(x264_param_t *param);
   int (*encoder_encode)(x264_t *enc, x264_nal_t **nals, int *n_nals, x264_picture_t *in, x264_picture_t *out);
   void (*encoder_close)(x264_t *enc);
   int (*picture_alloc)(x264_picture_t *pic, int csp, int width, int height);
   void (*picture_clean)(x264_picture_t *pic);
};

/* Loads libx264 (it stays loaded for the process) and fills `x264` with
 * its functions. False if there is none the server can use, with the
 * reason (which files were tried and why each failed) in `why`. */
bool vs_x264_load(struct vs_x264 *x264, char *why, size_t why_size);

#endif
