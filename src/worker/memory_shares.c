/* SPDX-License-Identifier: MIT */
#include "worker/memory_shares.h"

#include <stdio.h>
#include <unistd.h>

#include "base/ledger.h"
#include "base/log.h"

static uint64_t
physical_memory_bytes(void)
{
   long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
   return pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : 0;
}

struct vs_memory_shares
vs_memory_shares_default(void)
{
   /* One user's programs may fill half of the RAM, never all of it. A
    * GPU's memory is shared only where the operator says how. */
   return (struct vs_memory_shares){ .host_ram_bytes = physical_memory_bytes() / 2 >> 20 << 20, .vram_bytes = 0 };
}

void
vs_memory_shares_apply(const struct vs_memory_shares *shares, struct vs_ledger_limits *limits)
{
   limits->scope[VS_LEDGER_HOST_MEMORY] = shares->host_ram_bytes;
   limits->scope[VS_LEDGER_VRAM] = shares->vram_bytes;
}

void
vs_memory_shares_log(const char *door, const struct vs_memory_shares *shares)
{
   char host[160], vram[128];
   if (shares->host_ram_bytes)
      snprintf(host, sizeof(host), "bounded at %llu MiB per uid (limit memory-per-peer-mib; %llu MiB of RAM here)",
               (unsigned long long)(shares->host_ram_bytes >> 20), (unsigned long long)(physical_memory_bytes() >> 20));
   else
      snprintf(host, sizeof(host), "not bounded per uid (limit memory-per-peer-mib=0)");
   if (shares->vram_bytes)
      snprintf(vram, sizeof(vram), "bounded at %llu MiB per uid (limit vram-per-peer-mib)",
               (unsigned long long)(shares->vram_bytes >> 20));
   else
      snprintf(vram, sizeof(vram), "not bounded per uid (limit vram-per-peer-mib=0)");
   vs_info(0, "%sdevice memory in host RAM (a CPU driver's heaps, other devices' system-memory heaps) %s; "
              "in a GPU's own memory (its DEVICE_LOCAL heaps) %s", door, host, vram);
}
