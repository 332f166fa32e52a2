/* SPDX-License-Identifier: MIT */
/* The Venus capset (VIRGL_RENDERER_CAPSET_VENUS): what the guest learns
 * about the protocol this server speaks before it creates anything. */
#ifndef VS_CAPSET_H
#define VS_CAPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_CAPSET_VENUS 4
#define VS_CAPSET_VENUS_SIZE 160

/* Fills the Venus capset. Returns false for an unknown id/version. */
bool vs_capset_get(uint32_t capset_id, uint32_t version, void *out, size_t out_size);

#endif
