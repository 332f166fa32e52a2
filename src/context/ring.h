/* SPDX-License-Identifier: MIT */
/* A Venus ring: a shared-memory command queue from the guest with its own
 * thread. head/tail are free-running byte counters; the guest writes tail,
 * the ring thread consumes and publishes head after each command. When idle
 * for idleTimeout the thread sets IDLE and sleeps until vkNotifyRingMESA:
 * an idle ring costs no wakeups. */
#ifndef VS_RING_H
#define VS_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/ring_layout.h"
#include "wire/runner.h"

#define VS_RING_STATUS_IDLE 0x1u
#define VS_RING_STATUS_FATAL 0x2u
#define VS_RING_STATUS_ALIVE 0x4u

struct vs_context;
struct vs_resource;

struct vs_ring {
   uint64_t id;
   struct vs_context *ctx;
   struct vs_resource *res;
   struct vs_ring_layout layout; /* as vkCreateRingMESA gave it */
   _Atomic uint32_t *head;
   _Atomic uint32_t *tail;
   _Atomic uint32_t *status;
   const uint8_t *buffer;
   uint32_t buffer_size;
   uint8_t *extra;
   size_t extra_size;
   uint64_t idle_timeout_ns;
   uint32_t monitor_period_us; /* 0: not monitored */

   uint32_t cur;               /* consumed position (ring thread only) */
   _Atomic uint32_t published_head;
   uint8_t *cmds;              /* private copy of the pending commands */

   pthread_t thread;
   pthread_mutex_t lock;
   pthread_cond_t cond;        /* notify, virtqueue seqno, stop */
   pthread_cond_t head_cond;   /* head advanced (vkWaitRingSeqnoMESA) */
   bool notified;
   _Atomic uint64_t notify_ns; /* the last notify (submit stats' wake stage) */
   _Atomic uint64_t expect_ns; /* the last vs_ring_expect_commands */
   atomic_bool stop;           /* set under lock; read without it per command */
   bool stopped;               /* thread exited (stop or fatal) */
   _Atomic uint64_t virtqueue_seqno; /* set under lock; polled without it */

   struct vs_runner dispatch;
   struct vs_ring *next;
};

/* Validates the layout against the resource (which the ring references)
 * and starts the thread at head position `start` (0 for a new ring; where
 * a snapshot's stopped, for one made again). NULL with *why set on bad
 * input. */
struct vs_ring *vs_ring_create(struct vs_context *ctx, uint64_t id, struct vs_resource *res,
                               const struct vs_ring_layout *layout, uint32_t monitor_period_us, uint32_t start,
                               const char **why);
void vs_ring_destroy(struct vs_ring *ring);

/* The hooks of the ring's dispatcher: fatal for its context, and stop when
 * the ring stops. */
struct vs_runner_hooks vs_ring_dispatch_hooks(struct vs_ring *ring);

void vs_ring_notify(struct vs_ring *ring);
/* The guest was just woken from a wait on this context's work: its next
 * commands are likely microseconds away, so a ring past its spin window
 * spins again from now, as after activity (an idle ring is left to the
 * guest's notify). */
void vs_ring_expect_commands(struct vs_ring *ring);
/* True once the ring is asked to stop or the context is fatal: long host
 * waits on the ring thread check it between slices. */
bool vs_ring_should_stop(struct vs_ring *ring);
void vs_ring_set_alive(struct vs_ring *ring);
/* Marks the ring fatal for the guest and stops it. */
void vs_ring_set_fatal(struct vs_ring *ring);
void vs_ring_submit_virtqueue_seqno(struct vs_ring *ring, uint64_t seqno);
/* On the ring's own thread: waits until the socket side has submitted
 * `seqno`. False if the ring is stopping. */
bool vs_ring_wait_virtqueue_seqno(struct vs_ring *ring, uint64_t seqno);
/* On the socket thread: waits until the ring's head has reached `seqno`.
 * False if the ring stopped or can never reach it. */
bool vs_ring_wait_seqno(struct vs_ring *ring, uint32_t seqno);
/* True once the ring has executed every command before guest tail
 * position `tail`, or has stopped. Any thread. */
bool vs_ring_reached(struct vs_ring *ring, uint32_t tail);
bool vs_ring_write_extra(struct vs_ring *ring, uint64_t offset, uint32_t value);

#endif
