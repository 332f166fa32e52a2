/* SPDX-License-Identifier: MIT */
/* Test client: fences, timeline semaphores (host and queue waits/signals,
 * host waits with a timeout), 10,000 small submits, a batch stuck on a
 * never-signalled semaphore, events, timestamp queries and a fence that
 * signals while later work still runs. One ok/error line
 * per check; exit 0 only if all passed. */
#include <stdio.h>
#include <string.h>

#include "vk_util.h"

#define NS_PER_MS 1000000ull
/* For what must complete: only a hang misses it (how fast is never asserted). */
#define HANG_MS 120000
#define LONG_WAIT (HANG_MS * NS_PER_MS)
#define N_SUBMITS 10000u
#define FILL_VALUE 0xC0FFEE00u
/* check_fence_order's long batch: this many fills of the whole buffer
 * (2 GiB written: a second or so on lavapipe). */
#define ORDER_BUFFER_SIZE (64u << 20)
#define ORDER_LONG_FILLS 32u

struct ctx {
   struct vkt t;
   VkCommandPool pool;
};

/* ok if r == want, else an error naming both. */
static bool
expect(struct vkt *t, VkResult r, VkResult want, const char *what)
{
   if (r == want) {
      vkt_ok(t, "%s (%s)", what, vkt_result(r));
      return true;
   }
   vkt_error(t, "%s: got %s, want %s", what, vkt_result(r), vkt_result(want));
   return false;
}

/* One batch: optional command buffer, at most one timeline semaphore wait and
 * one signal (NULL for none), optional fence. */
static VkResult
submit(VkQueue q, VkCommandBuffer cmd, VkSemaphore wait, uint64_t wait_value, VkSemaphore signal,
       uint64_t signal_value, VkFence fence)
{
   const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
   const VkTimelineSemaphoreSubmitInfo tsi = {
      .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
      .waitSemaphoreValueCount = wait ? 1 : 0, .pWaitSemaphoreValues = &wait_value,
      .signalSemaphoreValueCount = signal ? 1 : 0, .pSignalSemaphoreValues = &signal_value,
   };
   const VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .pNext = &tsi,
      .waitSemaphoreCount = wait ? 1 : 0, .pWaitSemaphores = &wait, .pWaitDstStageMask = &stage,
      .commandBufferCount = cmd ? 1 : 0, .pCommandBuffers = &cmd,
      .signalSemaphoreCount = signal ? 1 : 0, .pSignalSemaphores = &signal,
   };
   return vkQueueSubmit(q, 1, &si, fence);
}

static VkSemaphore
timeline(struct vkt *t, const char *name)
{
   const VkSemaphoreTypeCreateInfo type = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
   };
   const VkSemaphoreCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type };
   VkSemaphore s = VK_NULL_HANDLE;
   VkResult r = vkCreateSemaphore(t->device, &sci, NULL, &s);
   if (r != VK_SUCCESS)
      vkt_error(t, "vkCreateSemaphore(timeline %s): %s", name, vkt_result(r));
   return r == VK_SUCCESS ? s : VK_NULL_HANDLE;
}

static VkFence
fence(struct vkt *t)
{
   const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence f = VK_NULL_HANDLE;
   VkResult r = vkCreateFence(t->device, &fci, NULL, &f);
   if (r != VK_SUCCESS)
      vkt_error(t, "vkCreateFence: %s", vkt_result(r));
   return r == VK_SUCCESS ? f : VK_NULL_HANDLE;
}

static VkResult
host_wait(struct vkt *t, VkSemaphore s, uint64_t value, uint64_t timeout_ns)
{
   const VkSemaphoreWaitInfo wi = {
      .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1, .pSemaphores = &s, .pValues = &value,
   };
   return vkWaitSemaphores(t->device, &wi, timeout_ns);
}

static VkResult
host_signal(struct vkt *t, VkSemaphore s, uint64_t value)
{
   const VkSemaphoreSignalInfo si = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = s, .value = value };
   return vkSignalSemaphore(t->device, &si);
}

static void
check_counter(struct vkt *t, VkSemaphore s, uint64_t want, const char *what)
{
   uint64_t v = 0;
   VkResult r = vkGetSemaphoreCounterValue(t->device, s, &v);
   if (r != VK_SUCCESS)
      vkt_error(t, "%s: vkGetSemaphoreCounterValue: %s", what, vkt_result(r));
   else if (v != want)
      vkt_error(t, "%s: counter is %llu, want %llu", what, (unsigned long long)v, (unsigned long long)want);
   else
      vkt_ok(t, "%s: counter is %llu", what, (unsigned long long)v);
}

/* A primary command buffer from the shared pool, in the recording state. */
static VkCommandBuffer
begin_cmd(struct ctx *c, VkCommandBufferUsageFlags usage)
{
   const VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = c->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
   };
   VkCommandBuffer cmd = VK_NULL_HANDLE;
   VkResult r = vkAllocateCommandBuffers(c->t.device, &ai, &cmd);
   if (r == VK_SUCCESS) {
      const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = usage };
      r = vkBeginCommandBuffer(cmd, &bi);
   }
   if (r != VK_SUCCESS) {
      vkt_error(&c->t, "command buffer: %s", vkt_result(r));
      return VK_NULL_HANDLE;
   }
   return cmd;
}

static void
check_fences(struct ctx *c)
{
   struct vkt *t = &c->t;
   VkFence f1 = fence(t), f2 = fence(t);
   if (!f1 || !f2)
      goto out;
   if (expect(t, submit(t->queues[0], NULL, NULL, 0, NULL, 0, f1), VK_SUCCESS, "fence: empty submit"))
      expect(t, vkWaitForFences(t->device, 1, &f1, VK_TRUE, LONG_WAIT), VK_SUCCESS, "fence: vkWaitForFences");

   if (!expect(t, submit(t->queues[0], NULL, NULL, 0, NULL, 0, f2), VK_SUCCESS, "fence: second empty submit"))
      goto out;
   VkResult r = VK_NOT_READY;
   unsigned polls = 0;
   for (double end = vkt_now_ms() + HANG_MS; r == VK_NOT_READY && vkt_now_ms() < end; polls++) {
      r = vkGetFenceStatus(t->device, f2);
      if (r == VK_NOT_READY)
         vkt_sleep_ms(1);
   }
   if (r == VK_SUCCESS)
      vkt_ok(t, "fence: vkGetFenceStatus polled to VK_SUCCESS (%u polls)", polls);
   else
      vkt_error(t, "fence: vkGetFenceStatus after %u polls (up to 120 s): %s", polls, vkt_result(r));
   if (expect(t, vkResetFences(t->device, 1, &f2), VK_SUCCESS, "fence: vkResetFences"))
      expect(t, vkGetFenceStatus(t->device, f2), VK_NOT_READY, "fence: status after reset");
out:
   vkDestroyFence(t->device, f1, NULL);
   vkDestroyFence(t->device, f2, NULL);
}

static void
check_timeline(struct ctx *c)
{
   struct vkt *t = &c->t;
   VkSemaphore s1 = timeline(t, "T"), s2 = timeline(t, "T2");
   bool waiting = false, signalled = false;
   if (!s1 || !s2)
      goto out;
   if (!t->two_queues)
      printf("info: timeline: the device has one queue: queue A and queue B are the same queue\n");
   waiting = expect(t, submit(t->queues[0], NULL, s1, 1, s2, 1, NULL), VK_SUCCESS,
                    "timeline: submit on queue A waiting T>=1, signalling T2=1");
   if (!waiting)
      goto out;
   expect(t, host_wait(t, s2, 1, 50 * NS_PER_MS), VK_TIMEOUT, "timeline: host wait T2>=1 (50 ms) before T is signalled");
   check_counter(t, s2, 0, "timeline: T2 before T is signalled");
   signalled = expect(t, host_signal(t, s1, 1), VK_SUCCESS, "timeline: host vkSignalSemaphore T=1");
   if (!signalled)
      goto out;
   expect(t, host_wait(t, s2, 1, LONG_WAIT), VK_SUCCESS, "timeline: host wait T2>=1 after the host signal");
   check_counter(t, s2, 1, "timeline: T2 after queue A ran");
   if (expect(t, submit(t->queues[1], NULL, s2, 1, s1, 2, NULL), VK_SUCCESS,
              "timeline: submit on queue B waiting T2>=1, signalling T=2"))
      expect(t, host_wait(t, s1, 2, LONG_WAIT), VK_SUCCESS, "timeline: host wait T>=2 (signalled onward by queue B)");
out:
   /* Release queue A's batch if the host signal failed, so nothing hangs. */
   if (waiting && !signalled)
      host_signal(t, s1, 1);
   vkQueueWaitIdle(t->queues[0]);
   vkQueueWaitIdle(t->queues[1]);
   vkDestroySemaphore(t->device, s1, NULL);
   vkDestroySemaphore(t->device, s2, NULL);
}

/* N_SUBMITS submits, each signalling the next timeline value; every other one
 * carries a command buffer filling 4 bytes the host checks at the end. */
static void
check_many_submits(struct ctx *c)
{
   struct vkt *t = &c->t;
   struct vkt_buffer buf = { 0 };
   const char *what = "";
   VkSemaphore s = timeline(t, "S");
   VkResult r = vkt_buffer_create(t, 4096, &buf, &what);
   if (r != VK_SUCCESS) {
      vkt_error(t, "submits: buffer: %s: %s", what, vkt_result(r));
      goto out;
   }
   buf.map[0] = 0;
   VkCommandBuffer cmd = begin_cmd(c, VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT);
   if (!s || !cmd)
      goto out;
   vkCmdFillBuffer(cmd, buf.buffer, 0, 4, FILL_VALUE);
   const VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT, .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
   };
   vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
   if ((r = vkEndCommandBuffer(cmd)) != VK_SUCCESS) {
      vkt_error(t, "submits: vkEndCommandBuffer: %s", vkt_result(r));
      goto out;
   }
   double t0 = vkt_now_ms();
   uint32_t i;
   for (i = 1; i <= N_SUBMITS; i++) {
      r = submit(t->queues[0], (i & 1) ? cmd : NULL, NULL, 0, s, i, NULL);
      if (r != VK_SUCCESS)
         break;
   }
   if (r != VK_SUCCESS) {
      vkt_error(t, "submits: vkQueueSubmit #%u: %s", i, vkt_result(r));
      goto out;
   }
   vkt_ok(t, "submits: %u submits queued", N_SUBMITS);
   r = host_wait(t, s, N_SUBMITS, LONG_WAIT);
   double ms = vkt_now_ms() - t0;
   if (expect(t, r, VK_SUCCESS, "submits: host wait for the last timeline value"))
      printf("info: %u submits retired in %.1f ms (%.1f us each)\n", N_SUBMITS, ms, ms * 1000 / N_SUBMITS);
   check_counter(t, s, N_SUBMITS, "submits: all retired");
   if (buf.map[0] == FILL_VALUE)
      vkt_ok(t, "submits: the command buffers' fill is visible to the host");
   else
      vkt_error(t, "submits: filled word is 0x%08x, want 0x%08x", buf.map[0], FILL_VALUE);
out:
   vkQueueWaitIdle(t->queues[0]);
   vkDestroySemaphore(t->device, s, NULL);
   vkt_buffer_destroy(t, &buf);
}

static void
check_stuck(struct ctx *c)
{
   struct vkt *t = &c->t;
   VkSemaphore u = timeline(t, "U"), v = timeline(t, "V");
   VkFence f = fence(t), g = fence(t);
   bool u_signalled = false;
   if (!u || !v || !f || !g)
      goto out;
   if (!expect(t, submit(t->queues[0], NULL, u, 1, NULL, 0, f), VK_SUCCESS,
               "stuck: submit waiting on never-signalled U>=1"))
      goto out;
   expect(t, vkWaitForFences(t->device, 1, &f, VK_TRUE, 200 * NS_PER_MS), VK_TIMEOUT,
          "stuck: vkWaitForFences (200 ms) on the stuck batch");
   expect(t, vkGetFenceStatus(t->device, f), VK_NOT_READY, "stuck: fence status of the stuck batch");
   /* The device must keep serving while the batch waits. */
   if (expect(t, host_signal(t, v, 5), VK_SUCCESS, "stuck: host signals another semaphore meanwhile"))
      check_counter(t, v, 5, "stuck: that semaphore");
   check_counter(t, u, 0, "stuck: U");
   if (t->two_queues &&
       expect(t, submit(t->queues[1], NULL, NULL, 0, NULL, 0, g), VK_SUCCESS, "stuck: submit on the other queue"))
      expect(t, vkWaitForFences(t->device, 1, &g, VK_TRUE, LONG_WAIT), VK_SUCCESS,
             "stuck: the other queue completes while the batch is stuck");
   u_signalled = expect(t, host_signal(t, u, 1), VK_SUCCESS, "stuck: host signals U=1");
   if (!u_signalled)
      goto out;
   expect(t, vkWaitForFences(t->device, 1, &f, VK_TRUE, LONG_WAIT), VK_SUCCESS, "stuck: the batch drains after U=1");
   vkResetFences(t->device, 1, &g);
   if (expect(t, submit(t->queues[0], NULL, NULL, 0, NULL, 0, g), VK_SUCCESS, "stuck: fresh submit on the same queue"))
      expect(t, vkWaitForFences(t->device, 1, &g, VK_TRUE, LONG_WAIT), VK_SUCCESS, "stuck: the fresh submit completes");
out:
   /* Nothing may stay blocked at exit, whatever failed above (signalling
    * the same value twice is invalid). */
   if (u && !u_signalled)
      host_signal(t, u, 1);
   vkDeviceWaitIdle(t->device);
   vkDestroyFence(t->device, f, NULL);
   vkDestroyFence(t->device, g, NULL);
   vkDestroySemaphore(t->device, u, NULL);
   vkDestroySemaphore(t->device, v, NULL);
}

static void
check_events(struct ctx *c)
{
   struct vkt *t = &c->t;
   const VkEventCreateInfo eci = { .sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO };
   VkEvent e = VK_NULL_HANDLE;
   VkFence f = fence(t);
   if (!expect(t, vkCreateEvent(t->device, &eci, NULL, &e), VK_SUCCESS, "event: vkCreateEvent") || !f)
      goto out;
   expect(t, vkGetEventStatus(t->device, e), VK_EVENT_RESET, "event: status when created");
   if (expect(t, vkSetEvent(t->device, e), VK_SUCCESS, "event: host vkSetEvent"))
      expect(t, vkGetEventStatus(t->device, e), VK_EVENT_SET, "event: status after vkSetEvent");
   if (expect(t, vkResetEvent(t->device, e), VK_SUCCESS, "event: host vkResetEvent"))
      expect(t, vkGetEventStatus(t->device, e), VK_EVENT_RESET, "event: status after vkResetEvent");

   VkCommandBuffer cmd = begin_cmd(c, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   if (!cmd)
      goto out;
   vkCmdSetEvent(cmd, e, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
   VkResult r = vkEndCommandBuffer(cmd);
   if (r == VK_SUCCESS)
      r = submit(t->queues[0], cmd, NULL, 0, NULL, 0, f);
   if (!expect(t, r, VK_SUCCESS, "event: submit vkCmdSetEvent"))
      goto out;
   /* Poll, not the fence: the host must see the device's set by itself. */
   r = VK_EVENT_RESET;
   for (double end = vkt_now_ms() + HANG_MS; r == VK_EVENT_RESET && vkt_now_ms() < end;) {
      r = vkGetEventStatus(t->device, e);
      if (r == VK_EVENT_RESET)
         vkt_sleep_ms(1);
   }
   expect(t, r, VK_EVENT_SET, "event: host sees vkCmdSetEvent");
   expect(t, vkWaitForFences(t->device, 1, &f, VK_TRUE, LONG_WAIT), VK_SUCCESS, "event: its batch completes");
out:
   vkDeviceWaitIdle(t->device);
   vkDestroyFence(t->device, f, NULL);
   vkDestroyEvent(t->device, e, NULL);
}

static void
check_queries(struct ctx *c)
{
   struct vkt *t = &c->t;
   if (t->timestamp_bits == 0) {
      vkt_ok(t, "query: skipped: the queue family has no timestamps (timestampValidBits = 0)");
      return;
   }
   const VkQueryPoolCreateInfo qpci = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2,
   };
   VkQueryPool qp = VK_NULL_HANDLE;
   VkFence f = fence(t);
   if (!expect(t, vkCreateQueryPool(t->device, &qpci, NULL, &qp), VK_SUCCESS, "query: timestamp pool") || !f)
      goto out;
   VkCommandBuffer cmd = begin_cmd(c, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   if (!cmd)
      goto out;
   vkCmdResetQueryPool(cmd, qp, 0, 2);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, qp, 0);
   vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 1);
   VkResult r = vkEndCommandBuffer(cmd);
   if (r == VK_SUCCESS)
      r = submit(t->queues[0], cmd, NULL, 0, NULL, 0, f);
   if (!expect(t, r, VK_SUCCESS, "query: submit reset + 2 timestamps"))
      goto out;
   /* WAIT_BIT, before the fence: the results call itself must wait. */
   uint64_t ts[2] = { 0, 0 };
   r = vkGetQueryPoolResults(t->device, qp, 0, 2, sizeof(ts), ts, sizeof(ts[0]),
                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
   if (expect(t, r, VK_SUCCESS, "query: vkGetQueryPoolResults with WAIT_BIT")) {
      const uint64_t mask = t->timestamp_bits >= 64 ? ~0ull : (1ull << t->timestamp_bits) - 1;
      if ((ts[1] & mask) >= (ts[0] & mask))
         vkt_ok(t, "query: second timestamp >= first (%llu ticks apart)",
                (unsigned long long)((ts[1] - ts[0]) & mask));
      else
         vkt_error(t, "query: second timestamp %llu < first %llu", (unsigned long long)ts[1],
                   (unsigned long long)ts[0]);
   }
   expect(t, vkWaitForFences(t->device, 1, &f, VK_TRUE, LONG_WAIT), VK_SUCCESS, "query: its batch completes");
out:
   vkDeviceWaitIdle(t->device);
   vkDestroyFence(t->device, f, NULL);
   vkDestroyQueryPool(t->device, qp, NULL);
}

/* An earlier fence signals while later work on the queue still runs: a
 * wait for it must not also wait for what was submitted after it (Mesa 26
 * waits for fences through vtest syncs behind vkWaitRingSeqnoMESA). */
static void
check_fence_order(struct ctx *c)
{
   struct vkt *t = &c->t;
   struct vkt_buffer buf = { 0 };
   const char *what = "";
   VkFence fa = fence(t), fb = fence(t);
   VkResult r = vkt_buffer_create(t, ORDER_BUFFER_SIZE, &buf, &what);
   if (r != VK_SUCCESS) {
      vkt_error(t, "order: buffer: %s: %s", what, vkt_result(r));
      goto out;
   }
   VkCommandBuffer a = begin_cmd(c, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   VkCommandBuffer b = begin_cmd(c, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
   if (!fa || !fb || !a || !b)
      goto out;
   vkCmdFillBuffer(a, buf.buffer, 0, 4096, FILL_VALUE);
   for (uint32_t i = 0; i < ORDER_LONG_FILLS; i++)
      vkCmdFillBuffer(b, buf.buffer, 0, VK_WHOLE_SIZE, i);
   if ((r = vkEndCommandBuffer(a)) != VK_SUCCESS || (r = vkEndCommandBuffer(b)) != VK_SUCCESS) {
      vkt_error(t, "order: vkEndCommandBuffer: %s", vkt_result(r));
      goto out;
   }
   if (!expect(t, submit(t->queues[0], a, NULL, 0, NULL, 0, fa), VK_SUCCESS, "order: submit a short batch") ||
       !expect(t, submit(t->queues[0], b, NULL, 0, NULL, 0, fb), VK_SUCCESS, "order: submit a long batch after it"))
      goto out;
   double t0 = vkt_now_ms();
   if (!expect(t, vkWaitForFences(t->device, 1, &fa, VK_TRUE, LONG_WAIT), VK_SUCCESS, "order: wait for the short one"))
      goto out;
   double waited = vkt_now_ms() - t0;
   r = vkGetFenceStatus(t->device, fb);
   if (r == VK_NOT_READY)
      vkt_ok(t, "order: the short batch's fence signalled after %.1f ms, while the long batch still ran", waited);
   else
      vkt_error(t, "order: the wait for the short batch returned after %.1f ms, with the long batch %s", waited,
                r == VK_SUCCESS ? "already done: it waited for later work" : vkt_result(r));
   double t1 = vkt_now_ms();
   if (expect(t, vkWaitForFences(t->device, 1, &fb, VK_TRUE, LONG_WAIT), VK_SUCCESS,
              "order: the long batch completes"))
      printf("info: order: the long batch took %.1f ms more\n", vkt_now_ms() - t1);
out:
   vkQueueWaitIdle(t->queues[0]);
   vkDestroyFence(t->device, fa, NULL);
   vkDestroyFence(t->device, fb, NULL);
   vkt_buffer_destroy(t, &buf);
}

static const struct {
   const char *name;
   void (*run)(struct ctx *c);
} checks[] = {
   { "fence", check_fences },   { "timeline", check_timeline }, { "submits", check_many_submits },
   { "stuck", check_stuck },    { "event", check_events },      { "query", check_queries },
   { "order", check_fence_order },
};

/* vk_sync [CHECK...]: all checks, or only those named. */
int
main(int argc, char **argv)
{
   for (int i = 1; i < argc; i++) {
      bool known = false;
      for (size_t k = 0; k < sizeof(checks) / sizeof(checks[0]); k++)
         known = known || !strcmp(argv[i], checks[k].name);
      if (!known) {
         fprintf(stderr, "usage: vk_sync [fence|timeline|submits|stuck|event|query|order]...\n");
         return 2;
      }
   }
   setvbuf(stdout, NULL, _IOLBF, 0);
   struct ctx c = { 0 };
   VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .timelineSemaphore = VK_TRUE,
   };
   if (!vkt_init(&c.t, 2, &f12)) {
      vkt_fini(&c.t);
      return 1;
   }
   printf("info: device %s, %s\n", c.t.props.deviceName,
          c.t.two_queues ? "two queues" : "one queue");
   const VkCommandPoolCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = c.t.families[0],
   };
   if (expect(&c.t, vkCreateCommandPool(c.t.device, &cpci, NULL, &c.pool), VK_SUCCESS, "vkCreateCommandPool")) {
      for (size_t k = 0; k < sizeof(checks) / sizeof(checks[0]); k++) {
         bool run = argc == 1;
         for (int i = 1; i < argc; i++)
            run = run || !strcmp(argv[i], checks[k].name);
         if (run)
            checks[k].run(&c);
      }
      vkDestroyCommandPool(c.t.device, c.pool, NULL);
   }
   vkt_fini(&c.t);
   printf("%s: %d error(s)\n", c.t.failures ? "FAILED" : "PASSED", c.t.failures);
   return c.t.failures ? 1 : 0;
}
