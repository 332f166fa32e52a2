/* SPDX-License-Identifier: MIT */
/* EDID base block (VESA E-EDID 1.4) for a virtual display (edid.h): one
 * detailed timing at 60 Hz with reduced blanking, a name, no extensions. */
#include "transport/vhost_user/edid.h"

#include <string.h>

/* Reduced-blanking totals: the guest only needs them to be plausible. */
#define H_BLANK 160u
#define H_FRONT 48u
#define H_SYNC 32u
#define V_BLANK 40u
#define V_FRONT 3u
#define V_SYNC 6u
#define REFRESH_HZ 60u
#define DPI_MM_PER_100PX 26u /* about 96 dpi */

static void
detailed_timing(uint8_t *d, uint32_t w, uint32_t h)
{
   uint64_t clock_10khz = ((uint64_t)(w + H_BLANK) * (h + V_BLANK) * REFRESH_HZ + 9999) / 10000;
   /* The field is 16 bits: the largest modes get a lower refresh rate. */
   if (clock_10khz > 0xffff)
      clock_10khz = 0xffff;
   const uint32_t w_mm = w * DPI_MM_PER_100PX / 100, h_mm = h * DPI_MM_PER_100PX / 100;
   d[0] = clock_10khz & 0xff;
   d[1] = (clock_10khz >> 8) & 0xff;
   d[2] = w & 0xff;
   d[3] = H_BLANK & 0xff;
   d[4] = (uint8_t)(((w >> 8) & 0xf) << 4 | ((H_BLANK >> 8) & 0xf));
   d[5] = h & 0xff;
   d[6] = V_BLANK & 0xff;
   d[7] = (uint8_t)(((h >> 8) & 0xf) << 4 | ((V_BLANK >> 8) & 0xf));
   d[8] = H_FRONT;
   d[9] = H_SYNC;
   d[10] = (uint8_t)((V_FRONT & 0xf) << 4 | (V_SYNC & 0xf));
   d[11] = 0;
   d[12] = w_mm & 0xff;
   d[13] = h_mm & 0xff;
   d[14] = (uint8_t)(((w_mm >> 8) & 0xf) << 4 | ((h_mm >> 8) & 0xf));
   d[15] = d[16] = 0;
   d[17] = 0x1e; /* digital separate sync, both polarities positive */
}

static void
name_descriptor(uint8_t *d, const char *name)
{
   memset(d, 0, 18);
   d[3] = 0xfc;
   memset(d + 5, ' ', 13);
   size_t len = strlen(name);
   memcpy(d + 5, name, len);
   d[5 + len] = '\n';
}

static void
dummy_descriptor(uint8_t *d)
{
   memset(d, 0, 18);
   d[3] = 0x10;
}

bool
vs_edid_build(uint32_t width, uint32_t height, uint8_t out[VS_EDID_SIZE])
{
   if (width == 0 || height == 0 || width > VS_EDID_MAX_DIM || height > VS_EDID_MAX_DIM)
      return false;
   static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
   /* sRGB primaries and white point, 10-bit fixed point. */
   static const uint8_t chroma[10] = { 0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54 };
   memset(out, 0, VS_EDID_SIZE);
   memcpy(out, header, sizeof(header));
   /* Manufacturer "VSV": three 5-bit letters, 'A' is 1. */
   const uint16_t maker = (uint16_t)(('V' - '@') << 10 | ('S' - '@') << 5 | ('V' - '@'));
   out[8] = maker >> 8;
   out[9] = maker & 0xff;
   out[10] = 0x01; /* product code */
   out[16] = 1;    /* week */
   out[17] = 36;   /* year - 1990 */
   out[18] = 1;    /* EDID 1.4 */
   out[19] = 4;
   out[20] = 0xa5; /* digital, 8 bits per colour, DisplayPort */
   out[21] = (uint8_t)((width * DPI_MM_PER_100PX / 100 + 9) / 10);  /* cm */
   out[22] = (uint8_t)((height * DPI_MM_PER_100PX / 100 + 9) / 10);
   out[23] = 120;  /* gamma 2.2 */
   out[24] = 0x06; /* RGB 4:4:4, sRGB default, preferred timing is native */
   memcpy(out + 25, chroma, sizeof(chroma));
   memset(out + 38, 0x01, 16); /* no standard timings */
   detailed_timing(out + 54, width, height);
   name_descriptor(out + 72, "venus-server");
   dummy_descriptor(out + 90);
   dummy_descriptor(out + 108);
   uint8_t sum = 0;
   for (unsigned i = 0; i < VS_EDID_SIZE - 1; i++)
      sum = (uint8_t)(sum + out[i]);
   out[VS_EDID_SIZE - 1] = (uint8_t)(0x100 - sum);
   return true;
}
