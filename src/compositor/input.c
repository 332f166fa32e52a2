/* SPDX-License-Identifier: MIT */
#include "compositor/input.h"

int32_t
vs_input_clamp_fixed(int32_t v, uint32_t size)
{
   int64_t max = (int64_t)(size ? size : 1) * 256 - 1;
   return v < 0 ? 0 : v > max ? (int32_t)max : v;
}
