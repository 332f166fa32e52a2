/* SPDX-License-Identifier: MIT */
/* mapping_capture.h where the host driver's mmap calls cannot be watched:
 * nothing is captured, so no memory is lent (renderer/memory/driver_mapping.h). */
#include "os/mapping_capture.h"

void
os_mapping_capture_enable(void)
{
}

void
os_mapping_capture_begin(void)
{
}

int
os_mapping_capture_end(const void *addr, size_t *len)
{
   (void)addr;
   (void)len;
   return -1;
}
