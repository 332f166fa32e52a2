/* SPDX-License-Identifier: MIT */
/* A host VkDeviceCreateInfo as flat bytes, so that a pooled worker can
 * create, before its tenant arrives, the device the last tenant created
 * first (worker/worker_pool.h). A host driver's first device in a fresh
 * process costs it most of a tenant's start-up (lavapipe 45 ms, NVIDIA
 * about 100 ms); tenants of one VM host mostly run the same guest driver
 * and programs, so the next tenant's first device is most often the same,
 * and it is then handed over instead of created (warm_up.c).
 *
 * What is flattened: queue create infos without chains, extension names,
 * VkPhysicalDeviceFeatures, and chain structs made only of VkBool32
 * features (vn_feature_struct_size). A create info with anything else is
 * not flattened (its device is created as usual).
 *
 * The slot the workers share is memory every worker can write: a worker
 * its guest took over could leave anything there. Readers therefore check
 * every byte as guest input (vs_device_snapshot_unflatten), and what they
 * rebuild is only ever a create info a guest could have sent itself. */
#ifndef VS_RENDERER_DEVICE_SNAPSHOT_H
#define VS_RENDERER_DEVICE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define VS_DEVICE_SNAPSHOT_MAX 16384
/* Host physical devices the slot keeps a snapshot for, one each. */
#define VS_DEVICE_SNAPSHOT_GPUS 16

struct vs_device_snapshot {
   uint32_t size; /* bytes used */
   uint8_t bytes[VS_DEVICE_SNAPSHOT_MAX];
};

/* False when `ci` holds what is not flattened, or does not fit. */
bool vs_device_snapshot_flatten(const VkDeviceCreateInfo *ci, uint32_t physical_index,
                                struct vs_device_snapshot *out);

/* A create info rebuilt from a snapshot, in memory of its own. */
struct vs_device_snapshot_info {
   VkDeviceCreateInfo ci;
   uint32_t physical_index;
   void *storage;
};
/* Checks every length and count; false (nothing to free) on anything
 * malformed. The names are not checked against a device's list: the
 * caller does that. */
bool vs_device_snapshot_unflatten(const struct vs_device_snapshot *s, struct vs_device_snapshot_info *out);
void vs_device_snapshot_info_free(struct vs_device_snapshot_info *info);

bool vs_device_snapshot_equal(const struct vs_device_snapshot *a, const struct vs_device_snapshot *b);

/* The slot a server's workers share (anonymous shared memory made before
 * the first worker is forked), a snapshot per host physical device (its
 * index among all the host's, as --device counts): NULL when it cannot be
 * made. */
struct vs_device_snapshot_slot *vs_device_snapshot_slot_create(void);
void vs_device_snapshot_slot_destroy(struct vs_device_snapshot_slot *slot);
/* Leaves `s`, made on host physical device `gpu`, for later workers;
 * skipped while another worker writes. */
void vs_device_snapshot_publish(struct vs_device_snapshot_slot *slot, uint32_t gpu,
                                const struct vs_device_snapshot *s);
/* False when `gpu`'s snapshot is empty or being written. */
bool vs_device_snapshot_read(struct vs_device_snapshot_slot *slot, uint32_t gpu, struct vs_device_snapshot *out);
/* Empties `gpu`'s snapshot (-1: every one): what it held failed a
 * warm-up, or a worker died warming up from it. Skipped while another
 * worker writes. */
void vs_device_snapshot_drop(struct vs_device_snapshot_slot *slot, int gpu);

#endif
