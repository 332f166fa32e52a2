/* Process-wide settings, filled from the command line and environment by
 * main() before the server starts, read-only afterwards. */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stddef.h>

#include "memory/memory.h"

struct vs_config {
   const char *socket_path;
   int device_index; /* host physical device to expose; -1 = all */
   enum vs_memory_strategy memory_strategy;
   size_t page_size; /* 0: the system's; else granule for shared device memory */
};

extern struct vs_config vs_config;

#endif
