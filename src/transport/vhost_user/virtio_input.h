/* SPDX-License-Identifier: MIT */
/* A VM's virtio-input device over vhost-user (QEMU's
 * `vhost-user-input-pci`): the device type on top of vhost_user_device.h.
 * One device is a keyboard (evdev keys 1..247, with the driver's own key
 * repeat) and an absolute pointer (ABS_X/ABS_Y over 0..32767, BTN_LEFT to
 * BTN_TASK, REL_WHEEL and REL_HWHEEL). The events it sends come from the
 * server as reports (vs_virtio_input_send, or a SOCK_SEQPACKET socket read
 * by vs_virtio_input_run); those the guest has no eventq buffer for yet
 * wait, up to VS_VIRTIO_INPUT_PENDING_MAX events, then whole reports are
 * dropped with one log line. A bad config select or eventq/statusq buffer
 * ends the device with one log line. */
#ifndef VS_VIRTIO_INPUT_H
#define VS_VIRTIO_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "transport/vhost_user/virtio_input_protocol.h"

/* A report: at most this many events, the last a SYN_REPORT. One
 * SOCK_SEQPACKET message on the events socket carries one. */
#define VS_VIRTIO_INPUT_REPORT_MAX 8u
/* Events waiting for the guest's eventq buffers. */
#define VS_VIRTIO_INPUT_PENDING_MAX 256u
/* The absolute pointer's range on both axes: 0..this. */
#define VS_VIRTIO_INPUT_ABS_MAX 32767u

struct vs_vu_device;
struct vs_virtio_input;

/* A device on a connected vhost-user socket (owned from now on); `id`
 * names it in log lines and in its serial. NULL on failure (logged). */
struct vs_virtio_input *vs_virtio_input_create(int sock, uint32_t id);
void vs_virtio_input_destroy(struct vs_virtio_input *input);

/* The vhost-user device to poll and dispatch. */
struct vs_vu_device *vs_virtio_input_device(struct vs_virtio_input *input);

/* Whether the device offers this event (a report may carry only those). */
bool vs_virtio_input_offers(uint16_t type, uint16_t code);

/* Queues one report and delivers what the eventq has buffers for. false
 * when the report is malformed (logged) or the device ended. */
bool vs_virtio_input_send(struct vs_virtio_input *input, const struct vs_virtio_input_event *events, unsigned count);

/* Reads one report from the events socket and sends it; false when the
 * socket closed, the report is malformed (logged) or the device ended. */
bool vs_virtio_input_take_report(struct vs_virtio_input *input, int events_fd);

/* Serves the connection and the reports of `events_fd` until the front
 * end goes, the device ends, or the events socket closes. */
void vs_virtio_input_run(struct vs_virtio_input *input, int events_fd);

/* Events delivered to the guest and dropped (no buffer, queue full). */
uint64_t vs_virtio_input_delivered(const struct vs_virtio_input *input);
uint64_t vs_virtio_input_dropped(const struct vs_virtio_input *input);

#endif
