/* SPDX-License-Identifier: MIT */
/* Test-only fault injection: what the tests make go wrong on purpose
 * (tests/test_device_lost*.sh, tests/test_unshareable_types.sh,
 * tests/test_placement.sh), kept out
 * of the production structs. Set once at start, from the environment
 * (src/server/config.c reads $VENUS_SERVER_TEST_*), before the process has
 * any other thread; read-only after, and inherited by forked workers. In
 * production every field is zero: the hot paths pay one predicted-false
 * load of vs_test_faults, the rest only where the event is already cold
 * (a context's creation and end, a memory probe). */
#ifndef VS_BASE_TEST_FAULTS_H
#define VS_BASE_TEST_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

struct vs_test_faults {
   /* $VENUS_SERVER_TEST_DEVICE_LOST=NAME:N: the Nth queue submission of
    * each context of the client named NAME reports VK_ERROR_DEVICE_LOST
    * after the host ran it, so that teardown stays clean. NULL and 0: none. */
   const char *lose_device_client;
   uint32_t lose_device_at_submit;
   /* $VENUS_SERVER_TEST_UNSHAREABLE_TYPES=MASK: host-visible memory types
    * (bit i: type i) treated as ones the server cannot share with the
    * guest; 0: none. */
   uint32_t unshareable_types;
   /* $VENUS_SERVER_TEST_LOSE_GPU=N:MS: until lose_gpu_until_ns (os_now_ns,
    * MS after the server started) a pooled worker's warm-up creates no
    * device on host physical device N, as on a GPU gone; 0: none. */
   uint32_t lose_gpu_index;
   uint64_t lose_gpu_until_ns;
   /* $VENUS_SERVER_TEST_JOURNAL=1: each context keeps its journal of
    * lasting commands (wire/journal.h) and logs what it kept at its end. */
   bool keep_journal;
   /* $VENUS_SERVER_TEST_RESTORE=N[:move][:copy][:snapshot]: each context
    * keeps its journal and restores itself (context/context.h:
    * vs_context_restore) at every Nth context-side stream, where it can;
    * with move, onto the host's next GPU of its model. 0: never. */
   uint32_t restore_every;
   bool restore_move;
   bool restore_copy; /* ...copying host-pointer memory with no blob through the GPU */
   bool restore_snapshot; /* ...its state carried as a snapshot across a socket */
   bool restore_worker; /* ...into a fresh worker process, where it has one */
};

/* The faults in force: all zero unless vs_test_faults_set was called. */
extern struct vs_test_faults vs_test_faults;

/* Once, at start, before any other thread. */
void vs_test_faults_set(const struct vs_test_faults *faults);

/* The device-lost fault counts the submissions of each context it applies
 * to, keyed by `owner` (the context's renderer): a context calls watch
 * when it is made (its client's name) and forget when it ends; both do
 * nothing unless the fault is set. */
void vs_test_faults_watch(const void *owner, const char *client_name);
void vs_test_faults_forget(const void *owner);

/* After a successful queue submission of `owner`, where
 * vs_test_faults.lose_device_at_submit is set: counts it, true if it is
 * the one that loses the device. */
bool vs_test_faults_submission_loses_device(const void *owner);

/* Whether a warm-up's device on host physical device `host_index`, made
 * at `now_ns` (os_now_ns), fails on purpose. */
bool vs_test_faults_gpu_lost(uint32_t host_index, uint64_t now_ns);

#endif
