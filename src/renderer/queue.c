/* SPDX-License-Identifier: MIT */
/* Queues and host waits: submissions (serialized per host queue, as Vulkan
 * requires), idle waits, fence and semaphore waits, and the host fence
 * behind a SUBMIT_CMD2 timeline point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renderer/families.h"
#include "renderer/image_layout.h"
#include "renderer/host_lifecycle.h"
#include "renderer/objects.h"
#include "renderer/renderer.h"
#include "os/os.h"
#include "renderer/sync/retire.h"
#include "renderer/sync/sync_fd.h"
#include "base/chain.h"
#include "base/log.h"
#include "base/test_faults.h"
#include "wire/runner.h"
#include "vn_wire.h"

/* What a submission returns to the guest, logged: asynchronous for the
 * guest, a failure is otherwise only visible in the log. Device loss is
 * the runner's to report (wire/runner.c). A test may make the Nth
 * submission of this client report device loss once the host has
 * finished it (base/test_faults.h): the guest then destroys its fences
 * and memory without waiting, which the host device, not really lost,
 * must no longer be using. */
static VkResult
submit_result(struct vs_runner *runner, struct vs_object *queue_obj, const char *cmd, VkResult r)
{
   if (__builtin_expect(vs_test_faults.lose_device_at_submit != 0, 0) && r == VK_SUCCESS &&
       vs_test_faults_submission_loses_device(runner->renderer)) {
      struct vs_queue *queue = vs_queue_from(queue_obj);
      vs_queue_lock(queue);
      queue->dt->QueueWaitIdle(queue->host);
      vs_queue_unlock(queue);
      vs_info(runner->ctx_id, "queue %llu: %s: submission %u loses the device (fault injection): %s",
              (unsigned long long)queue_obj->id, cmd, vs_test_faults.lose_device_at_submit,
              vn_result_name(VK_ERROR_DEVICE_LOST));
      return VK_ERROR_DEVICE_LOST;
   }
   if (r != VK_SUCCESS && r != VK_ERROR_DEVICE_LOST)
      vs_warn(runner->ctx_id, "queue %llu: %s: %s", (unsigned long long)queue_obj->id, cmd, vn_result_name(r));
   return r;
}

/* At debug level, one line per batch: what a hang on a semaphore needs to
 * be traced (host handles; the queue is the guest's object). */
static void
debug_batch(struct vs_runner *runner, struct vs_object *queue_obj, const char *cmd, uint32_t i,
            uint32_t waits, const VkSemaphore *wait, uint32_t cmds, uint32_t signals,
            const VkSemaphore *signal, VkFence fence)
{
   char buf[256] = "";
   int n = 0;
   for (uint32_t k = 0; k < waits && n < (int)sizeof(buf) - 24; k++)
      n += snprintf(buf + n, sizeof(buf) - (size_t)n, " w%llx", (unsigned long long)(uint64_t)wait[k]);
   for (uint32_t k = 0; k < signals && n < (int)sizeof(buf) - 24; k++)
      n += snprintf(buf + n, sizeof(buf) - (size_t)n, " s%llx", (unsigned long long)(uint64_t)signal[k]);
   vs_debug(runner->ctx_id, "queue %llu: %s batch %u: %u cmd(s)%s%s fence %llx",
            (unsigned long long)queue_obj->id, cmd, i, cmds, n ? "" : " no semaphores", buf,
            (unsigned long long)(uint64_t)fence);
}

/* The command buffers a submission names (in its batches, in order), each
 * checked for objects freed with their pools; NULL after failing the
 * context, or when there are none (*count 0). In the decode arena. */
static struct vs_object **
submitted_command_buffers(struct vs_runner *runner, const char *cmd, uint32_t *count)
{
   uint32_t named_count, n = 0;
   struct vs_object *const *named = vs_runner_named(runner, &named_count);
   for (uint32_t i = 0; i < named_count; i++)
      n += named[i]->type == VK_OBJECT_TYPE_COMMAND_BUFFER;
   *count = 0;
   if (!n)
      return NULL;
   struct vs_object **cbs = vs_arena_alloc(&runner->arena, n * sizeof(*cbs));
   if (!cbs) {
      vs_runner_fail(runner, "%s: out of decode memory", cmd);
      return NULL;
   }
   for (uint32_t i = 0; i < named_count; i++) {
      if (named[i]->type != VK_OBJECT_TYPE_COMMAND_BUFFER)
         continue;
      if (!vs_command_buffer_check_submit(runner, cmd, named[i]))
         return NULL;
      cbs[(*count)++] = named[i];
   }
   return cbs;
}

/* --submit-stats: when the host finished a submission. */
struct completion {
   struct vs_submit_stats *stats;
   uint64_t submitted_ns;
};

static void
completion_retired(void *data)
{
   struct completion *c = data;
   vs_submit_stats_add(c->stats, VS_STAGE_COMPLETE, os_now_ns() - c->submitted_ns);
   free(c);
}

/* --submit-stats: the host submit's duration (from t0) and, through an
 * extra host fence behind it, its completion. */
static void
stats_after_submit(struct vs_runner *runner, struct vs_object *queue_obj, uint64_t t0, VkResult r)
{
   struct vs_submit_stats *stats = &runner->renderer->stats;
   uint64_t t1 = os_now_ns();
   vs_submit_stats_add(stats, VS_STAGE_SUBMIT, t1 - t0);
   struct completion *c = r == VK_SUCCESS ? malloc(sizeof(*c)) : NULL;
   if (!c)
      return;
   *c = (struct completion){ stats, t1 };
   if (!vs_queue_submit_fence(runner->renderer, queue_obj, completion_retired, c))
      free(c);
}

/* The guest's batches and one more that only signals `serial` on the
 * queue's serial timeline (lifetime.c): after all of them, as a semaphore
 * signal's scope is everything submitted before it. A batch of its own
 * leaves the guest's pNext chains (timeline values, device group
 * indices, both counted per semaphore) as they are. In the decode arena;
 * NULL after failing the context. */
static const VkSubmitInfo *
submits_with_serial(struct vs_runner *runner, const VkSubmitInfo *submits, uint32_t count, const VkSemaphore *timeline,
                    const uint64_t *serial)
{
   VkSubmitInfo *copy = vs_arena_alloc(&runner->arena, (count + 1) * sizeof(*copy));
   VkTimelineSemaphoreSubmitInfo *values = copy ? vs_arena_alloc(&runner->arena, sizeof(*values)) : NULL;
   if (!values) {
      vs_runner_fail(runner, "vkQueueSubmit: out of decode memory");
      return NULL;
   }
   memcpy(copy, submits, count * sizeof(*copy));
   *values = (VkTimelineSemaphoreSubmitInfo){
      .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
      .signalSemaphoreValueCount = 1,
      .pSignalSemaphoreValues = serial,
   };
   copy[count] = (VkSubmitInfo){
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .pNext = values,
      .signalSemaphoreCount = 1,
      .pSignalSemaphores = timeline,
   };
   return copy;
}

/* For vkQueueSubmit2: the guest's batches, the last one also signalling
 * `serial` on the queue's serial timeline (a VkSemaphoreSubmitInfo
 * carries its own value and device index). In the decode arena; NULL
 * after failing the context. */
static const VkSubmitInfo2 *
submits2_with_serial(struct vs_runner *runner, const VkSubmitInfo2 *submits, uint32_t count, VkSemaphore timeline,
                     uint64_t serial)
{
   VkSubmitInfo2 *copy = vs_arena_alloc(&runner->arena, count * sizeof(*copy));
   const VkSubmitInfo2 *guest = &submits[count - 1];
   uint32_t n = guest->signalSemaphoreInfoCount + 1;
   VkSemaphoreSubmitInfo *infos = copy ? vs_arena_alloc(&runner->arena, n * sizeof(*infos)) : NULL;
   if (!infos) {
      vs_runner_fail(runner, "vkQueueSubmit2: out of decode memory");
      return NULL;
   }
   memcpy(copy, submits, count * sizeof(*copy));
   if (n > 1)
      memcpy(infos, guest->pSignalSemaphoreInfos, (n - 1) * sizeof(*infos));
   infos[n - 1] = (VkSemaphoreSubmitInfo){
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
      .semaphore = timeline,
      .value = serial,
      .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
   };
   copy[count - 1].signalSemaphoreInfoCount = n;
   copy[count - 1].pSignalSemaphoreInfos = infos;
   return copy;
}

/* How long a wait on a binary semaphore with no signal pending waits for
 * the client's other rings to catch up (a signal the guest submitted first
 * may be on one of them) before it is judged. */
#define OTHER_RINGS_WAIT_NS 2000000000ull
/* How long it keeps waiting while they have not: the guest's WSI signals
 * each frame's acquire semaphore on a ring of its own, which may be
 * seconds behind (a pipeline compile, a loaded host), and a host driver
 * that blocks in vkQueueSubmit on a binary wait with no signal (lavapipe)
 * would never see that signal (renderer/sync/sync_fd.h only marks it). */
#define UNSURE_WAIT_NS 60000000000ull

/* Whether the client's other rings have executed what was written to them
 * by now. False when unsure (they did not within OTHER_RINGS_WAIT_NS, or
 * the context has no rings to ask about). */
static bool
other_rings_caught_up(struct vs_runner *runner)
{
   const struct vs_work_hooks *work = &runner->renderer->work;
   if (!work->mark)
      return false;
   struct vs_work_mark mark = { .except = runner->owner };
   work->mark(work->data, &mark);
   const uint64_t start = os_now_ns();
   for (uint64_t pause_ns = 50000;; pause_ns = pause_ns < 10000000 ? pause_ns * 2 : pause_ns) {
      if (work->reached(work->data, &mark))
         return true;
      if (os_now_ns() - start > OTHER_RINGS_WAIT_NS || vs_runner_wait_abandoned(runner))
         return false;
      os_sleep_ns(pause_ns);
   }
}

enum vs_semaphore_wait
vs_semaphore_take_signal(struct vs_runner *runner, const char *what, const char *vuid, struct vs_object *sem)
{
   if (!sem || (sem->flags & VS_OBJECT_TIMELINE_SEMAPHORE))
      return VS_WAIT_KEEP;
   if (vs_sync_fd_take_mark(sem))
      return VS_WAIT_MARKED;
   if (vs_semaphore_take_pending(sem))
      return VS_WAIT_KEEP;
   const uint64_t start = os_now_ns();
   for (;;) {
      bool caught_up = other_rings_caught_up(runner);
      if (vs_sync_fd_take_mark(sem))
         return VS_WAIT_MARKED;
      if (vs_semaphore_take_pending(sem) || vs_runner_failed(runner) || vs_runner_wait_abandoned(runner))
         return VS_WAIT_KEEP;
      if (caught_up)
         break;
      /* A destroy on another ring may need the dispatch lock meanwhile. */
      if (!vs_runner_wait_yield(runner))
         return VS_WAIT_REFUSED;
      if (os_now_ns() - start > UNSURE_WAIT_NS) {
         vs_warn(runner->ctx_id, "%s waits on binary semaphore %llu with no signal known, the client's other rings "
                 "%llu s behind: passed to the host as it is", what, (unsigned long long)sem->id,
                 (unsigned long long)(UNSURE_WAIT_NS / 1000000000ull));
         return VS_WAIT_KEEP;
      }
   }
   vs_runner_fail(runner, "%s waits on binary semaphore %llu, which has no signal pending (no signal submitted, "
                  "imported or acquired before it): it would wait forever (%s)", what, (unsigned long long)sem->id,
                  vuid);
   return VS_WAIT_REFUSED;
}

/* The wait of batch `batch` of `cmd` on `sem` (vs_semaphore_take_signal). */
static enum vs_semaphore_wait
take_signal(struct vs_runner *runner, const char *cmd, uint32_t batch, struct vs_object *sem)
{
   char what[64];
   snprintf(what, sizeof(what), "%s: batch %u", cmd, batch);
   return vs_semaphore_take_signal(runner, what, "VUID-vkQueueSubmit-pWaitSemaphores-03238", sem);
}

/* A batch's signals of binary semaphores are pending from now on. */
static void
signals_pending(struct vs_runner *runner, struct vs_object *sem)
{
   if (sem && !(sem->flags & VS_OBJECT_TIMELINE_SEMAPHORE))
      vs_semaphore_set_pending(sem);
}

/* Takes each batch's binary semaphore signals in order (a batch may wait
 * on what an earlier one signals), leaving out the waits on semaphores the
 * guest's WSI signalled without a host signal (renderer/sync/sync_fd.h): such a
 * wait is satisfied already, and taking the mark consumes the signal. The
 * decoded batches are the server's own copy, so they are edited in place,
 * with the arrays that run parallel to the waits. False after refusing a
 * wait (the context failed). */
static bool
take_wait_signals(struct vs_runner *runner, const VkSubmitInfo *submits, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++) {
      VkSubmitInfo *b = (VkSubmitInfo *)&submits[i];
      const uint32_t n = b->waitSemaphoreCount;
      VkTimelineSemaphoreSubmitInfo *tl = n ? vs_chain_find(b, VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO) : NULL;
      VkDeviceGroupSubmitInfo *dg = n ? vs_chain_find(b, VK_STRUCTURE_TYPE_DEVICE_GROUP_SUBMIT_INFO) : NULL;
      uint64_t *values = tl && tl->waitSemaphoreValueCount == n ? (uint64_t *)tl->pWaitSemaphoreValues : NULL;
      uint32_t *indices = dg && dg->waitSemaphoreCount == n ? (uint32_t *)dg->pWaitSemaphoreDeviceIndices : NULL;
      VkSemaphore *sems = (VkSemaphore *)b->pWaitSemaphores;
      VkPipelineStageFlags *stages = (VkPipelineStageFlags *)b->pWaitDstStageMask;
      uint32_t kept = 0;
      for (uint32_t j = 0; j < n; j++) {
         enum vs_semaphore_wait w = take_signal(runner, "vkQueueSubmit", i, vs_runner_nested_object(runner, &sems[j]));
         if (w == VS_WAIT_REFUSED)
            return false;
         if (w == VS_WAIT_MARKED)
            continue;
         sems[kept] = sems[j];
         if (stages)
            stages[kept] = stages[j];
         if (values)
            values[kept] = values[j];
         if (indices)
            indices[kept] = indices[j];
         kept++;
      }
      for (uint32_t j = 0; j < b->signalSemaphoreCount; j++)
         signals_pending(runner, vs_runner_nested_object(runner, &b->pSignalSemaphores[j]));
      if (kept == n)
         continue;
      b->waitSemaphoreCount = kept;
      if (values)
         tl->waitSemaphoreValueCount = kept;
      if (indices)
         dg->waitSemaphoreCount = kept;
   }
   return true;
}

static bool
take_wait_signals2(struct vs_runner *runner, const VkSubmitInfo2 *submits, uint32_t count)
{
   for (uint32_t i = 0; i < count; i++) {
      VkSubmitInfo2 *b = (VkSubmitInfo2 *)&submits[i];
      VkSemaphoreSubmitInfo *waits = (VkSemaphoreSubmitInfo *)b->pWaitSemaphoreInfos;
      uint32_t kept = 0;
      for (uint32_t j = 0; j < b->waitSemaphoreInfoCount; j++) {
         enum vs_semaphore_wait w =
            take_signal(runner, "vkQueueSubmit2", i, vs_runner_nested_object(runner, &waits[j].semaphore));
         if (w == VS_WAIT_REFUSED)
            return false;
         if (w == VS_WAIT_MARKED)
            continue;
         waits[kept++] = waits[j];
      }
      b->waitSemaphoreInfoCount = kept;
      for (uint32_t j = 0; j < b->signalSemaphoreInfoCount; j++)
         signals_pending(runner, vs_runner_nested_object(runner, &b->pSignalSemaphoreInfos[j].semaphore));
   }
   return true;
}

static void
vs_exec_vkQueueSubmit(struct vs_runner *runner, struct vn_args_vkQueueSubmit *a)
{
   struct vs_queue *queue = vs_queue_from(a->queue_obj);
   if (vs_log_threshold >= VS_LOG_DEBUG) {
      for (uint32_t i = 0; i < a->submitCount; i++) {
         const VkSubmitInfo *b = &a->pSubmits[i];
         debug_batch(runner, a->queue_obj, "vkQueueSubmit", i, b->waitSemaphoreCount, b->pWaitSemaphores,
                     b->commandBufferCount, b->signalSemaphoreCount, b->pSignalSemaphores, a->fence);
      }
      if (!a->submitCount)
         debug_batch(runner, a->queue_obj, "vkQueueSubmit", 0, 0, NULL, 0, 0, NULL, a->fence);
   }
   uint32_t cb_count;
   struct vs_object **cbs = submitted_command_buffers(runner, "vkQueueSubmit", &cb_count);
   if (runner->failed)
      return;
   if (!take_wait_signals(runner, a->pSubmits, a->submitCount))
      return;
   uint64_t t0 = runner->renderer->stats.on ? os_now_ns() : 0;
   vs_queue_lock(queue);
   uint64_t serial = a->submitCount ? vs_queue_next_serial(queue) : 0;
   const VkSubmitInfo *submits =
      serial ? submits_with_serial(runner, a->pSubmits, a->submitCount, &queue->serial_timeline, &serial) : a->pSubmits;
   if (serial && !submits) { /* out of decode memory: the context failed */
      vs_queue_unlock(queue);
      return;
   }
   vs_host_lifecycle_lock_shared();
   a->ret = a->queue_obj->dt->QueueSubmit(a->queue, a->submitCount + !!serial, submits, a->fence);
   vs_host_lifecycle_unlock_shared();
   if (a->ret == VK_SUCCESS && (cb_count || serial))
      vs_queue_mark_submitted(vs_device_of(a->queue_obj), queue, cbs, cb_count);
   for (uint32_t i = 0; i < a->submitCount && a->ret == VK_SUCCESS && serial; i++) {
      if (a->pSubmits[i].waitSemaphoreCount)
         __atomic_store_n(&queue->serial_waiting, serial, __ATOMIC_RELEASE);
   }
   if (a->ret == VK_SUCCESS && a->submitCount)
      queue->serial_covers_all = serial != 0;
   vs_queue_unlock(queue);
   if (a->ret == VK_SUCCESS)
      vs_layouts_submitted(runner->renderer, queue->family, cbs, cb_count);
   if (t0)
      stats_after_submit(runner, a->queue_obj, t0, a->ret);
   a->ret = submit_result(runner, a->queue_obj, "vkQueueSubmit", a->ret);
}

static void
vs_exec_vkQueueSubmit2(struct vs_runner *runner, struct vn_args_vkQueueSubmit2 *a)
{
   struct vs_queue *queue = vs_queue_from(a->queue_obj);
   PFN_vkQueueSubmit2 submit2 = a->queue_obj->dt->QueueSubmit2;
   if (!submit2) {
      vs_runner_fail(runner, "vkQueueSubmit2 is not available on the host");
      return;
   }
   if (vs_log_threshold >= VS_LOG_DEBUG) {
      for (uint32_t i = 0; i < a->submitCount; i++) {
         const VkSubmitInfo2 *b = &a->pSubmits[i];
         VkSemaphore w[8], s[8];
         uint32_t nw = b->waitSemaphoreInfoCount < 8 ? b->waitSemaphoreInfoCount : 8;
         uint32_t ns = b->signalSemaphoreInfoCount < 8 ? b->signalSemaphoreInfoCount : 8;
         for (uint32_t k = 0; k < nw; k++)
            w[k] = b->pWaitSemaphoreInfos[k].semaphore;
         for (uint32_t k = 0; k < ns; k++)
            s[k] = b->pSignalSemaphoreInfos[k].semaphore;
         debug_batch(runner, a->queue_obj, "vkQueueSubmit2", i, nw, w, b->commandBufferInfoCount, ns, s, a->fence);
      }
   }
   uint32_t cb_count;
   struct vs_object **cbs = submitted_command_buffers(runner, "vkQueueSubmit2", &cb_count);
   if (runner->failed)
      return;
   if (!take_wait_signals2(runner, a->pSubmits, a->submitCount))
      return;
   uint64_t t0 = runner->renderer->stats.on ? os_now_ns() : 0;
   vs_queue_lock(queue);
   uint64_t serial = a->submitCount ? vs_queue_next_serial(queue) : 0;
   const VkSubmitInfo2 *submits =
      serial ? submits2_with_serial(runner, a->pSubmits, a->submitCount, queue->serial_timeline, serial) : a->pSubmits;
   if (serial && !submits) { /* out of decode memory: the context failed */
      vs_queue_unlock(queue);
      return;
   }
   vs_host_lifecycle_lock_shared();
   a->ret = submit2(a->queue, a->submitCount, submits, a->fence);
   vs_host_lifecycle_unlock_shared();
   if (a->ret == VK_SUCCESS && (cb_count || serial))
      vs_queue_mark_submitted(vs_device_of(a->queue_obj), queue, cbs, cb_count);
   for (uint32_t i = 0; i < a->submitCount && a->ret == VK_SUCCESS && serial; i++) {
      if (a->pSubmits[i].waitSemaphoreInfoCount)
         __atomic_store_n(&queue->serial_waiting, serial, __ATOMIC_RELEASE);
   }
   if (a->ret == VK_SUCCESS && a->submitCount)
      queue->serial_covers_all = serial != 0;
   vs_queue_unlock(queue);
   if (a->ret == VK_SUCCESS)
      vs_layouts_submitted(runner->renderer, queue->family, cbs, cb_count);
   if (t0)
      stats_after_submit(runner, a->queue_obj, t0, a->ret);
   a->ret = submit_result(runner, a->queue_obj, "vkQueueSubmit2", a->ret);
}

static void
vs_exec_vkQueueBindSparse(struct vs_runner *runner, struct vn_args_vkQueueBindSparse *a)
{
   struct vs_queue *queue = vs_queue_from(a->queue_obj);
   /* Sparse binds keep their waits: a marked semaphore is signalled on the
    * host first (renderer/sync/sync_fd.h). */
   for (uint32_t i = 0; i < a->bindInfoCount; i++) {
      const VkBindSparseInfo *b = &a->pBindInfo[i];
      for (uint32_t j = 0; j < b->waitSemaphoreCount; j++) {
         struct vs_object *sem = vs_runner_nested_object(runner, &b->pWaitSemaphores[j]);
         enum vs_semaphore_wait w = take_signal(runner, "vkQueueBindSparse", i, sem);
         if (w == VS_WAIT_REFUSED)
            return;
         if (w == VS_WAIT_MARKED) {
            VkResult r = vs_sync_fd_signal(vs_device_of(a->queue_obj), b->pWaitSemaphores[j]);
            if (r != VK_SUCCESS)
               vs_warn(runner->ctx_id, "semaphore %llu: signalling failed: %s", (unsigned long long)sem->id,
                       vn_result_name(r));
         }
      }
      for (uint32_t j = 0; j < b->signalSemaphoreCount; j++)
         signals_pending(runner, vs_runner_nested_object(runner, &b->pSignalSemaphores[j]));
   }
   vs_queue_lock(queue);
   vs_host_lifecycle_lock_shared();
   a->ret = a->queue_obj->dt->QueueBindSparse(a->queue, a->bindInfoCount, a->pBindInfo, a->fence);
   vs_host_lifecycle_unlock_shared();
   if (a->ret == VK_SUCCESS && a->bindInfoCount)
      queue->serial_covers_all = false;
   vs_queue_unlock(queue);
   a->ret = submit_result(runner, a->queue_obj, "vkQueueBindSparse", a->ret);
}

/* Host waits a guest can cause go in slices: between two, a stopping
 * context, a client that hung up (vs_runner_wait_abandoned) or a device
 * the server declared lost (gpu-timeout-ms) ends the wait. Mesa sends
 * vkWaitForFences/vkWaitSemaphores only once its feedback says the wait
 * is satisfied, usually with an infinite timeout; a hostile or buggy guest
 * could make any of these wait forever and pin the ring thread. */
#define HOST_WAIT_SLICE_NS 100000000ull

typedef VkResult (*host_wait_fn)(void *args, uint64_t timeout_ns);

static VkResult
wait_in_slices(struct vs_runner *runner, struct vs_object *device_obj, uint64_t timeout_ns, host_wait_fn wait,
               void *args)
{
   uint64_t start = os_now_ns();
   VkResult r;
   for (;;) {
      uint64_t elapsed = os_now_ns() - start;
      uint64_t left = timeout_ns > elapsed ? timeout_ns - elapsed : 0;
      r = wait(args, left < HOST_WAIT_SLICE_NS ? left : HOST_WAIT_SLICE_NS);
      if (r == VK_TIMEOUT && vs_device_marked_lost(device_obj))
         r = VK_ERROR_DEVICE_LOST;
      /* Between slices a destroy on another dispatcher may run
       * (vs_runner_wait_yield). */
      if (r != VK_TIMEOUT || left <= HOST_WAIT_SLICE_NS || vs_runner_wait_abandoned(runner) ||
          !vs_runner_wait_yield(runner))
         break;
   }
   if (runner->renderer->stats.on)
      vs_submit_stats_add(&runner->renderer->stats, VS_STAGE_WAIT, os_now_ns() - start);
   return r;
}

/* A wait for serials on queues' serial timelines (one each). */
struct serial_wait {
   struct vs_device *dev;
   uint32_t count;
   VkSemaphore *timelines;
   uint64_t *serials;
};

static VkResult
wait_serials(void *args, uint64_t timeout_ns)
{
   struct serial_wait *w = args;
   const VkSemaphoreWaitInfo info = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
      .semaphoreCount = w->count,
      .pSemaphores = w->timelines,
      .pValues = w->serials,
   };
   return w->dev->dt.WaitSemaphores(w->dev->host, &info, timeout_ns);
}

/* Waits until everything submitted so far to `queues` has finished: in
 * slices on their serial timelines. False where a queue has none (then
 * the caller waits as the driver does). */
static bool
wait_queues_idle(struct vs_runner *runner, struct vs_object *device_obj, struct vs_queue *queues, uint32_t count,
                 VkResult *result)
{
   struct vs_device *dev = vs_device_from(device_obj);
   for (uint32_t i = 0; i < count; i++) {
      if (!queues[i].serial_timeline || !dev->dt.WaitSemaphores)
         return false;
   }
   struct serial_wait w = {
      .dev = dev,
      .timelines = vs_arena_alloc(&runner->arena, count * sizeof(VkSemaphore)),
      .serials = vs_arena_alloc(&runner->arena, count * sizeof(uint64_t)),
   };
   if (!w.timelines || !w.serials) {
      vs_runner_fail(runner, "idle wait: out of decode memory");
      *result = VK_ERROR_OUT_OF_HOST_MEMORY;
      return true;
   }
   *result = VK_SUCCESS;
   for (uint32_t i = 0; i < count && *result == VK_SUCCESS; i++) {
      vs_queue_lock(&queues[i]);
      uint64_t serial = vs_queue_serial_for_idle_locked(&queues[i], result);
      vs_queue_unlock(&queues[i]);
      if (serial) {
         w.timelines[w.count] = queues[i].serial_timeline;
         w.serials[w.count++] = serial;
      }
   }
   if (*result == VK_SUCCESS && w.count)
      *result = wait_in_slices(runner, device_obj, UINT64_MAX, wait_serials, &w);
   return true;
}

static void
vs_exec_vkQueueWaitIdle(struct vs_runner *runner, struct vn_args_vkQueueWaitIdle *a)
{
   struct vs_queue *queue = vs_queue_from(a->queue_obj);
   if (wait_queues_idle(runner, vs_object_ancestor(a->queue_obj, VK_OBJECT_TYPE_DEVICE), queue, 1, &a->ret))
      return;
   vs_queue_lock(queue);
   a->ret = a->queue_obj->dt->QueueWaitIdle(a->queue);
   vs_queue_unlock(queue);
}

static void
vs_exec_vkDeviceWaitIdle(struct vs_runner *runner, struct vn_args_vkDeviceWaitIdle *a)
{
   struct vs_device *dev = vs_device_from(a->device_obj);
   if (wait_queues_idle(runner, a->device_obj, dev->queues, dev->queue_count, &a->ret))
      return;
   vs_queues_lock_all(dev->queues, dev->queue_count);
   a->ret = dev->dt.DeviceWaitIdle(dev->host);
   vs_queues_unlock_all(dev->queues, dev->queue_count);
}

/* vkGetQueryPoolResults with VK_QUERY_RESULT_WAIT_BIT would wait in the
 * driver for queries that may never become available (never submitted):
 * the device's work so far is waited for in slices instead, then the
 * results are asked for without the bit, again after short pauses while
 * some are not ready. */
static void
vs_exec_vkGetQueryPoolResults(struct vs_runner *runner, struct vn_args_vkGetQueryPoolResults *a)
{
   const struct vn_device_table *dt = a->device_obj->dt;
   if (!(a->flags & VK_QUERY_RESULT_WAIT_BIT)) {
      a->ret = dt->GetQueryPoolResults(a->device, a->queryPool, a->firstQuery, a->queryCount, a->dataSize, a->pData,
                                       a->stride, a->flags);
      return;
   }
   struct vs_device *dev = vs_device_from(a->device_obj);
   VkResult idle = VK_SUCCESS;
   if (wait_queues_idle(runner, a->device_obj, dev->queues, dev->queue_count, &idle) && idle != VK_SUCCESS &&
       idle != VK_TIMEOUT) {
      a->ret = idle;
      return;
   }
   const VkQueryResultFlags flags = a->flags & ~(VkQueryResultFlags)VK_QUERY_RESULT_WAIT_BIT;
   for (uint64_t pause_ns = 50000;; pause_ns = pause_ns < 10000000 ? pause_ns * 2 : pause_ns) {
      a->ret = dt->GetQueryPoolResults(a->device, a->queryPool, a->firstQuery, a->queryCount, a->dataSize, a->pData,
                                       a->stride, flags);
      if (a->ret != VK_NOT_READY)
         return;
      if (vs_device_marked_lost(a->device_obj)) {
         a->ret = VK_ERROR_DEVICE_LOST;
         return;
      }
      if (vs_runner_wait_abandoned(runner) || !vs_runner_wait_yield(runner))
         return;
      os_sleep_ns(pause_ns);
   }
}

static VkResult
wait_fences(void *args, uint64_t timeout_ns)
{
   struct vn_args_vkWaitForFences *a = args;
   return a->device_obj->dt->WaitForFences(a->device, a->fenceCount, a->pFences, a->waitAll, timeout_ns);
}

static void
vs_exec_vkWaitForFences(struct vs_runner *runner, struct vn_args_vkWaitForFences *a)
{
   a->ret = wait_in_slices(runner, a->device_obj, a->timeout, wait_fences, a);
}

static VkResult
wait_semaphores(void *args, uint64_t timeout_ns)
{
   struct vn_args_vkWaitSemaphores *a = args;
   return a->device_obj->dt->WaitSemaphores(a->device, a->pWaitInfo, timeout_ns);
}

static void
vs_exec_vkWaitSemaphores(struct vs_runner *runner, struct vn_args_vkWaitSemaphores *a)
{
   if (!a->device_obj->dt->WaitSemaphores) {
      vs_runner_fail(runner, "vkWaitSemaphores is not available on the host");
      return;
   }
   a->ret = wait_in_slices(runner, a->device_obj, a->timeout, wait_semaphores, a);
}

static void
vs_exec_vkCreateSemaphore(struct vs_runner *runner, struct vn_args_vkCreateSemaphore *a)
{
   if (!a->pCreateInfo) {
      vs_runner_fail(runner, "vkCreateSemaphore: no create info");
      return;
   }
   const VkSemaphoreTypeCreateInfo *type = vs_chain_find(a->pCreateInfo, VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO);
   bool timeline = type && type->semaphoreType == VK_SEMAPHORE_TYPE_TIMELINE;
   /* Sync-fd export is the server's (renderer/sync/sync_fd.h), not the host's. */
   vs_chain_cut(a->pCreateInfo, VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO);
   a->ret = a->device_obj->dt->CreateSemaphore(a->device, a->pCreateInfo, NULL, a->pSemaphore);
   if (a->ret != VK_SUCCESS)
      return;
   struct vs_object *obj = vs_runner_add_object(runner, VK_OBJECT_TYPE_SEMAPHORE, a->pSemaphore_id,
                                                  (uint64_t)*a->pSemaphore, a->device_obj);
   if (!obj) {
      a->device_obj->dt->DestroySemaphore(a->device, *a->pSemaphore, NULL);
      return;
   }
   if (timeline)
      obj->flags |= VS_OBJECT_TIMELINE_SEMAPHORE;
}

/* When the queue's last submission signalled its serial timeline, that
 * serial stands for all work so far: retired at once if it was reached and
 * nothing earlier is pending, else handed to the retire thread. No host
 * fence, no extra submission (Mesa 26 asks for such a fence behind every
 * vkQueueSubmit). Under the queue's lock. */
enum serial_retire { SERIAL_NOT_USED, SERIAL_PUSHED, SERIAL_REACHED };

static enum serial_retire
retire_on_serial(struct vs_queue *queue, struct vs_device *dev, vs_retire_fn retire, void *data)
{
   if (!queue->serial_timeline || !queue->serial_covers_all || !queue->retire)
      return SERIAL_NOT_USED;
   uint64_t value = 0;
   if (dev->dt.GetSemaphoreCounterValue(dev->host, queue->serial_timeline, &value) == VK_SUCCESS &&
       value >= queue->serial_submitted && vs_retire_queue_idle(queue->retire))
      return SERIAL_REACHED;
   return vs_retire_queue_push_value(queue->retire, queue->serial_timeline, queue->serial_submitted, retire, data)
             ? SERIAL_PUSHED
             : SERIAL_NOT_USED;
}

bool
vs_queue_submit_fence(struct vs_renderer *renderer, struct vs_object *queue_obj, vs_retire_fn retire, void *data)
{
   /* The queue's serial timeline where it covers all work, else a host
    * fence on an empty submit, which signals after all earlier work on the
    * queue; the queue's retire thread waits for either. */
   struct vs_queue *queue = vs_queue_from(queue_obj);
   struct vs_device *dev = vs_device_of(queue_obj);
   vs_queue_lock(queue);
   if (!queue->retire)
      queue->retire = vs_retire_queue_create(renderer->ctx_id, queue->ring_idx, &dev->dt, dev->host);
   enum serial_retire on_serial = retire_on_serial(queue, dev, retire, data);
   vs_queue_unlock(queue);
   if (on_serial == SERIAL_REACHED)
      retire(data);
   if (on_serial != SERIAL_NOT_USED)
      return true;
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence fence;
   VkResult r = dev->dt.CreateFence(dev->host, &fence_info, NULL, &fence);
   if (r != VK_SUCCESS) {
      vs_warn(renderer->ctx_id, "timeline %u: vkCreateFence: %s", queue->ring_idx, vn_result_name(r));
      return false;
   }
   /* The retire queue is pushed to in the submit's critical section: its
    * fences stay in submission order. */
   vs_queue_lock(queue);
   if (queue->retire) {
      vs_host_lifecycle_lock_shared();
      r = dev->dt.QueueSubmit(queue->host, 0, NULL, fence);
      vs_host_lifecycle_unlock_shared();
   } else {
      r = VK_ERROR_OUT_OF_HOST_MEMORY;
   }
   bool queued = r == VK_SUCCESS && vs_retire_queue_push(queue->retire, fence, retire, data);
   vs_queue_unlock(queue);
   if (!queued) {
      /* Device loss or no memory: retire now rather than never. */
      vs_warn(renderer->ctx_id, "timeline %u: fence submit failed: %s; retiring at once", queue->ring_idx,
              vn_result_name(r == VK_SUCCESS ? VK_ERROR_OUT_OF_HOST_MEMORY : r));
      if (r == VK_SUCCESS)
         dev->dt.WaitForFences(dev->host, 1, &fence, VK_TRUE, UINT64_MAX);
      dev->dt.DestroyFence(dev->host, fence, NULL);
      retire(data);
   }
   return true;
}

/* Before a device is torn down, a queue may be stuck behind a wait on a
 * timeline semaphore that the guest never signalled (it was dropped, or it
 * was hostile). Signal every timeline semaphore of the device far ahead so
 * that vkDeviceWaitIdle can return. */
static void
signal_timeline_cb(struct vs_object *obj, void *data)
{
   struct vs_device *dev = data;
   if (!(obj->flags & VS_OBJECT_TIMELINE_SEMAPHORE))
      return;
   VkSemaphore sem = (VkSemaphore)obj->handle;
   uint64_t value = 0;
   if (dev->dt.GetSemaphoreCounterValue(dev->host, sem, &value) != VK_SUCCESS || value == UINT64_MAX)
      return;
   const VkSemaphoreSignalInfo info = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
      .semaphore = sem,
      .value = UINT64_MAX,
   };
   dev->dt.SignalSemaphore(dev->host, &info);
}

/* Waits until every queue of the device is idle, unblocking queues stuck
 * behind timeline waits. False if a queue stays blocked (a binary
 * semaphore that will never be signalled): the device cannot be destroyed
 * safely then. */
bool
vs_device_drain_queues(struct vs_renderer *renderer, struct vs_object *device_obj)
{
   struct vs_device *dev = vs_device_from(device_obj);
   const VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   bool signalled = false;
   for (uint32_t i = 0; i < dev->queue_count; i++) {
      VkFence fence;
      if (dev->dt.CreateFence(dev->host, &fence_info, NULL, &fence) != VK_SUCCESS)
         return false;
      if (vs_queue_submit(&dev->queues[i], 0, NULL, fence) != VK_SUCCESS) {
         dev->dt.DestroyFence(dev->host, fence, NULL);
         continue; /* device lost: nothing is pending any more */
      }
      VkResult r = dev->dt.WaitForFences(dev->host, 1, &fence, VK_TRUE, 100000000ull);
      if (r == VK_TIMEOUT && !signalled && dev->dt.SignalSemaphore && dev->dt.GetSemaphoreCounterValue) {
         vs_warn(renderer->ctx_id, "device %llu: queue %u is blocked; signalling the device's timeline "
                          "semaphores to tear it down", (unsigned long long)device_obj->id, i);
         vs_object_foreach_child(renderer->objects, device_obj, VK_OBJECT_TYPE_SEMAPHORE, signal_timeline_cb, dev);
         signalled = true;
      }
      if (r == VK_TIMEOUT)
         r = dev->dt.WaitForFences(dev->host, 1, &fence, VK_TRUE, 5000000000ull);
      if (r == VK_TIMEOUT) {
         /* Destroying a pending fence is undefined: leak it with the device. */
         vs_error(renderer->ctx_id, "device %llu: queue %u stays blocked (a semaphore nobody will signal); "
                           "leaking the host device", (unsigned long long)device_obj->id, i);
         return false;
      }
      dev->dt.DestroyFence(dev->host, fence, NULL);
   }
   return true;
}

void
vs_queue_register(struct vn_exec_table *t)
{
   t->vkQueueSubmit = vs_exec_vkQueueSubmit;
   t->vkQueueSubmit2 = vs_exec_vkQueueSubmit2;
   t->vkQueueBindSparse = vs_exec_vkQueueBindSparse;
   t->vkQueueWaitIdle = vs_exec_vkQueueWaitIdle;
   t->vkDeviceWaitIdle = vs_exec_vkDeviceWaitIdle;
   t->vkWaitForFences = vs_exec_vkWaitForFences;
   t->vkWaitSemaphores = vs_exec_vkWaitSemaphores;
   t->vkGetQueryPoolResults = vs_exec_vkGetQueryPoolResults;
   t->vkCreateSemaphore = vs_exec_vkCreateSemaphore;
}
