/* SPDX-License-Identifier: MIT */
/* Viewer input to the VMs' input devices, in the server process: the
 * display hands each viewer event for a VM device's scanout here
 * (compositor/input.h's form), and it goes, as one virtio-input report, to
 * the input devices of the same VM: those whose VMM is the process that
 * connected the GPU device (the peer of both vhost-user sockets). Each
 * input device's worker reads its reports from a SOCK_SEQPACKET socket the
 * router writes without ever waiting: a worker that does not read loses
 * reports (said once per run of them). Thread-safe. */
#ifndef VS_TRANSPORT_VHOST_USER_INPUT_ROUTER_H
#define VS_TRANSPORT_VHOST_USER_INPUT_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "compositor/input.h"
#include "transport/vhost_user/virtio_input.h"

struct vs_input_router;

struct vs_input_router *vs_input_router_create(void);
void vs_input_router_destroy(struct vs_input_router *router);

/* A GPU device whose scanout is display source `id`, of VMM process `vmm`
 * (0: unknown, paired with nothing). false: out of memory (logged). */
bool vs_input_router_add_gpu(struct vs_input_router *router, uint32_t id, pid_t vmm);
/* An input device of VMM process `vmm` whose worker reads `events_fd`
 * (prepared with os_socket_prepare), which the router owns from now on
 * (closed on failure, logged). */
bool vs_input_router_add_input(struct vs_input_router *router, uint32_t id, pid_t vmm, int events_fd);
/* Input device `id`'s reports socket, still the router's: what a live
 * upgrade hands over. -1: none. */
int vs_input_router_events_fd(struct vs_input_router *router, uint32_t id);
/* Device `id` (either kind) is gone; an input device's socket is closed,
 * which ends its worker's reading. */
void vs_input_router_remove(struct vs_input_router *router, uint32_t id);

/* A viewer's event for GPU device `gpu`'s scanout, shown at width x height
 * pixels: its report goes to that VM's input devices. */
void vs_input_router_send(struct vs_input_router *router, uint32_t gpu, uint32_t width, uint32_t height,
                          const struct vs_input_event *event);

/* The report for a viewer's event (pointer positions scaled from the
 * surface's pixels to 0..VS_VIRTIO_INPUT_ABS_MAX, one wheel click per
 * axis event): its length, 0 for an event the device does not offer. */
unsigned vs_input_report(const struct vs_input_event *event, uint32_t width, uint32_t height,
                         struct vs_virtio_input_event report[VS_VIRTIO_INPUT_REPORT_MAX]);

#endif
