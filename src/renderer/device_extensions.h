/* SPDX-License-Identifier: MIT */
/* Which of the host's device extensions a guest is offered (and may
 * enable): device_extensions.c. The server's own (renderer/caps/caps.h) join them
 * elsewhere. */
#ifndef VS_DEVICE_EXTENSIONS_H
#define VS_DEVICE_EXTENSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

/* True if host device extension `name` is offered to guests, `host`
 * (`count` entries) being every device extension the host has: the host
 * has it, its structs cross the wire, it is not denied, and every
 * extension it requires outright is offered too. */
bool vs_device_extension_offered(const VkExtensionProperties *host, uint32_t count, const char *name);

#endif
