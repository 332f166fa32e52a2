/* SPDX-License-Identifier: MIT */
/* A token bucket for events a client causes at no cost to itself (log
 * lines above all): `burst` pass at once, then `per_second`; the others
 * are counted, for one line that tells how many once events pass again.
 * Not thread-safe: its owner serialises the calls. */
#ifndef VS_BASE_RATE_LIMIT_H
#define VS_BASE_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct vs_rate_limit {
   uint64_t cost_ns;   /* refill time of one event: 1e9 / per_second */
   uint64_t bucket_ns; /* a full bucket: `burst` events */
   uint64_t credit_ns, last_ns;
   uint64_t dropped;   /* refused since the last event passed */
};

/* Full at `now_ns`. */
void vs_rate_limit_init(struct vs_rate_limit *limit, unsigned burst, unsigned per_second, uint64_t now_ns);

/* True if an event at `now_ns` passes (taking its share), with
 * *dropped_before the events refused since the last one that passed (then
 * forgotten); false counts it as refused. */
bool vs_rate_limit_pass(struct vs_rate_limit *limit, uint64_t now_ns, uint64_t *dropped_before);

#endif
