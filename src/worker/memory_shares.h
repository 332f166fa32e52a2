/* SPDX-License-Identifier: MIT */
/* What one uid's clients may hold of device memory together, whichever
 * door they came through (vtest clients, a VMM's render-server contexts,
 * VM devices): in host RAM (memory-per-peer-mib) and in a GPU's own
 * memory (vram-per-peer-mib). Each door's server keeps one ledger
 * (base/ledger.h) with these bounds; its clients' renderers charge it
 * (renderer/memory/memory_share.h). */
#ifndef VS_WORKER_MEMORY_SHARES_H
#define VS_WORKER_MEMORY_SHARES_H

#include <stdint.h>

struct vs_ledger_limits;

/* 0: no bound. */
struct vs_memory_shares {
   uint64_t host_ram_bytes;
   uint64_t vram_bytes;
};

/* The default: half of the RAM in host RAM, no bound in a GPU's memory. */
struct vs_memory_shares vs_memory_shares_default(void);
/* Sets the bounds of the two pools in `limits`. */
void vs_memory_shares_apply(const struct vs_memory_shares *shares, struct vs_ledger_limits *limits);
/* The one line that names the bounds at a door's start, after `door`
 * ("vhost-user: VMs' ", say). */
void vs_memory_shares_log(const char *door, const struct vs_memory_shares *shares);

#endif
