/* Device memory shared with the guest (blobs backed by VkDeviceMemory). */
#include "dispatch/instance.h"

#include "venus/context_state.h"

bool
vs_memory_export_blob(struct vs_context *ctx, uint32_t flags, uint64_t size, uint64_t memory_id,
                      uint32_t *res_id, int *fd)
{
   vs_context_set_fatal(ctx, "device-memory blobs are not supported yet");
   return false;
}
