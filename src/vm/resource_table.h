/* SPDX-License-Identifier: MIT */
/* The VM's resources, server-wide (render-server mode): virtio-gpu
 * resource id -> the context and the server memory behind it. Resource
 * ids are unique per virtio-gpu device, and one render server serves one
 * VM, so a resource id names one blob for the server's lifetime.
 *
 * Filled where CREATE_RESOURCE / DESTROY_RESOURCE and context ends are
 * handled: in the server process directly (--isolate thread), or from a
 * worker's messages (--isolate process), before the VMM gets the
 * CREATE_RESOURCE's reply either way (worker/worker_link.h). Read by the VM presentation
 * channel (transport/vmchannel/), which finds the memory by inode in the
 * shared registry (renderer/memory/shared_registry.h). Thread-safe. */
#ifndef VS_VM_RESOURCE_TABLE_H
#define VS_VM_RESOURCE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct vs_resource_info {
   uint32_t res_id;
   uint32_t ctx_id;     /* the context that created it */
   uint64_t owner;      /* that context's lifetime (vs_vm_resources_new_owner) */
   uint64_t st_dev;     /* the blob's memfd, as shared_registry names memory */
   uint64_t st_ino;
   uint64_t size;       /* the blob's size in bytes */
   uint32_t blob_flags; /* VIRTGPU_BLOB_FLAG_*: SHAREABLE marks what a guest may show */
};

/* NULL when out of memory. */
struct vs_vm_resource_table *vs_vm_resources_create(void);
void vs_vm_resources_destroy(struct vs_vm_resource_table *table);

/* A token naming one context's lifetime. QEMU reuses context ids, and a
 * worker's "context ended" can arrive after the next context of that id
 * added its resources: removal goes by owner, never by context id. */
uint64_t vs_vm_resources_new_owner(void);

/* An entry of the same res_id from another owner is replaced: the guest
 * kernel reuses ids once freed, and the newest CREATE_RESOURCE is the
 * guest's present state (the old owner's late removal then finds nothing
 * of its own). False when the same owner listed it already, or out of
 * memory. */
bool vs_vm_resources_add(struct vs_vm_resource_table *table, const struct vs_resource_info *info);
/* Nothing when absent, or when `owner` did not add it; whether it
 * removed one. */
bool vs_vm_resources_remove(struct vs_vm_resource_table *table, uint64_t owner, uint32_t res_id);
/* Every resource `owner` added (its context ended). */
void vs_vm_resources_remove_owner(struct vs_vm_resource_table *table, uint64_t owner);
bool vs_vm_resources_find(struct vs_vm_resource_table *table, uint32_t res_id, struct vs_resource_info *out);
/* Whether res_id is absent but was listed until recently (destroyed, or
 * its context ended): a guest message sent before it went can still name
 * it. VS_VM_RETIRED the first time it is asked about, then
 * VS_VM_RETIRED_NAMED_BEFORE (one log line per id). */
enum vs_vm_retired { VS_VM_NOT_RETIRED, VS_VM_RETIRED, VS_VM_RETIRED_NAMED_BEFORE };
enum vs_vm_retired vs_vm_resources_retired(struct vs_vm_resource_table *table, uint32_t res_id);

#endif
