/* SPDX-License-Identifier: MIT */
/* A minimal EDID 1.4 base block (128 bytes) for a display of one mode,
 * which the guest's driver takes as the preferred (native) mode. */
#ifndef VS_EDID_H
#define VS_EDID_H

#include <stdbool.h>
#include <stdint.h>

#define VS_EDID_SIZE 128u
/* Active sizes fit 12 bits in a detailed timing descriptor. */
#define VS_EDID_MAX_DIM 4095u

/* Fills out[VS_EDID_SIZE]; false for a size an EDID cannot describe. */
bool vs_edid_build(uint32_t width, uint32_t height, uint8_t out[VS_EDID_SIZE]);

#endif
