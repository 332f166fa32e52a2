/* SPDX-License-Identifier: MIT */
/* The file behind a mapping the host driver makes of its own memory.
 *
 * NVIDIA's driver maps host-visible video memory (its BAR) by mmapping a
 * device file that carries one allocation's mapping at offset 0, and
 * closes that fd. Any process given the same open file can map the same
 * memory (checked on an H100 with driver 580: renderer/memory/driver_mapping.h).
 * No Vulkan extension hands that file out, so the server watches the
 * driver's mmap calls on the allocating thread for the span of one
 * vkAllocateMemory/vkMapMemory and keeps a copy of the fd it mapped.
 *
 * Linux (mapping_capture_linux.c) interposes mmap in the executable;
 * elsewhere, and in sanitizer builds whose runtimes interpose mmap
 * themselves, nothing is ever captured (mapping_capture_none.c). The
 * interposed mmap is the system call alone, with no bookkeeping and no
 * lock, unless os_mapping_capture_enable turned capturing on
 * (vtest clients in worker processes of their own). */
#ifndef VS_OS_MAPPING_CAPTURE_H
#define VS_OS_MAPPING_CAPTURE_H

#include <stddef.h>

/* Turns capturing on for the process: once, at start, before any other
 * thread (forked workers inherit it). Without it, begin and end below
 * capture nothing. */
void os_mapping_capture_enable(void);

/* Starts recording this thread's shared mappings of files at offset 0. */
void os_mapping_capture_begin(void);

/* Stops recording: a new close-on-exec fd for the file mapped at `addr`
 * on this thread since os_mapping_capture_begin, with *len that mapping's
 * length; -1 if there was none. Other recorded fds are closed. */
int os_mapping_capture_end(const void *addr, size_t *len);

#endif
