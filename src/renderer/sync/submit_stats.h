/* SPDX-License-Identifier: MIT */
/* Where a client's submissions spend their time inside the server, for the
 * bench's per-frame timeline (venus-server --submit-stats; off by default).
 * Each stage adds durations from any thread; the context logs one line with
 * every stage's count, total and maximum when it ends.
 *
 * The stages of a submission, in order:
 *   pickup    the gap between the ring thread's previous look at the guest's
 *             tail and the look that found the work: how long new work can
 *             have waited unnoticed (an upper bound);
 *   wake      the same for work found after the ring slept idle: from the
 *             guest's vkNotifyRingMESA to the pickup;
 *   dispatch  running the commands picked up (decoding and every handler,
 *             host calls included);
 *   submit    inside the host's vkQueueSubmit/vkQueueSubmit2;
 *   complete  from the host submit's return until the host queue finished
 *             that work (its serial, or a host fence behind it, waited on
 *             by the queue's retire thread). Mesa's fence feedback is the last
 *             command buffer of the batch, so this is also when the guest
 *             can see its fence signalled;
 *   wait      inside the host's vkWaitForFences/vkWaitSemaphores (Mesa sends
 *             them once its feedback says signalled: near zero).
 * Decoding and the other handlers are dispatch - submit - wait; a second
 * line names the commands that took the most time (decode, checks and
 * handler), on the ring and on the context's own stream alike. */
#ifndef VS_RENDERER_SYNC_SUBMIT_STATS_H
#define VS_RENDERER_SYNC_SUBMIT_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum vs_submit_stage {
   VS_STAGE_PICKUP,
   VS_STAGE_WAKE,
   VS_STAGE_DISPATCH,
   VS_STAGE_SUBMIT,
   VS_STAGE_COMPLETE,
   VS_STAGE_WAIT,
   VS_STAGE_COUNT,
};

struct vs_submit_stats {
   bool on;
   _Atomic uint64_t count[VS_STAGE_COUNT];
   _Atomic uint64_t total_ns[VS_STAGE_COUNT];
   _Atomic uint64_t max_ns[VS_STAGE_COUNT];
   /* Per command type (command_types of them; NULL if that failed). */
   uint32_t command_types;
   _Atomic uint64_t *command_count, *command_ns;
};

/* Turns the stats on, for command types below command_types. */
void vs_submit_stats_init(struct vs_submit_stats *s, uint32_t command_types);
void vs_submit_stats_fini(struct vs_submit_stats *s);
void vs_submit_stats_add(struct vs_submit_stats *s, enum vs_submit_stage stage, uint64_t ns);
void vs_submit_stats_add_command(struct vs_submit_stats *s, uint32_t type, uint64_t ns);
/* One line: "submit stats: pickup N x A us (max M us), ...", and one of
 * the commands with the most time: "command stats: NAME N x A us, ...". */
void vs_submit_stats_log(const struct vs_submit_stats *s, uint32_t ctx_id, const char *(*command_name)(uint32_t));

#endif
