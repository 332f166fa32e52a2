/* SPDX-License-Identifier: MIT */
#include "worker/placement.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "renderer/instance_pool.h"
#include "renderer/renderer.h"
#include "worker/worker_pool.h"

/* The probe of the host's GPUs may load a slow driver; past this the
 * server starts without placement. */
#define PROBE_TIMEOUT_MS 30000

struct vs_placement {
   pthread_mutex_t lock;
   unsigned gpu_count;
   int device_index[VS_WORKER_GPUS_MAX]; /* each GPU's among the host's */
   char names[VS_WORKER_GPUS_MAX][VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
   /* Under lock: */
   unsigned tenants[VS_WORKER_GPUS_MAX];
   bool lost[VS_WORKER_GPUS_MAX];
   unsigned lost_count;
   /* The pins, each uid's GPU among the placed ones. */
   uid_t pin_uid[VS_PLACEMENT_PINS_MAX];
   int pin_gpu[VS_PLACEMENT_PINS_MAX];
   unsigned pin_count;
};

/* What the probe process writes: the count (-1: no host instance), then
 * the names. */
struct probe_answer {
   int32_t count;
   char names[VS_WORKER_GPUS_MAX][VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
   VkPhysicalDeviceType types[VS_WORKER_GPUS_MAX];
};

static bool
read_whole(int fd, void *buf, size_t size)
{
   size_t got = 0;
   while (got < size) {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int ready = poll(&p, 1, PROBE_TIMEOUT_MS);
      if (ready < 0 && errno == EINTR)
         continue;
      if (ready <= 0)
         return false;
      ssize_t n = read(fd, (char *)buf + got, size - got);
      if (n < 0 && errno == EINTR)
         continue;
      if (n <= 0)
         return false;
      got += (size_t)n;
   }
   return true;
}

/* The host's GPUs, counted by a child process: the host driver it loads
 * goes with it, and the server forks its workers from a process that
 * never had it. False when the probe failed. */
static bool
probe_gpus(struct probe_answer *answer)
{
   int pipe_fds[2];
   if (pipe(pipe_fds) != 0)
      return false;
   pid_t pid = fork();
   if (pid == 0) {
      close(pipe_fds[0]);
      static struct probe_answer found;
      found.count = vs_host_physical_device_names(found.names, found.types, VS_WORKER_GPUS_MAX);
      _exit(write(pipe_fds[1], &found, sizeof(found)) == (ssize_t)sizeof(found) ? 0 : 1);
   }
   close(pipe_fds[1]);
   bool ok = pid > 0 && read_whole(pipe_fds[0], answer, sizeof(*answer));
   close(pipe_fds[0]);
   if (pid > 0) {
      if (!ok)
         kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
         ;
   }
   return ok && answer->count >= 0 && answer->count <= VS_WORKER_GPUS_MAX;
}

/* Whether host device `device` of `answer` is one tenants are placed on. */
static bool
placed_device(const struct probe_answer *answer, bool skip_cpus, int device)
{
   return device >= 0 && device < answer->count && !(skip_cpus && answer->types[device] == VK_PHYSICAL_DEVICE_TYPE_CPU);
}

/* The first pin that names no placed GPU of the host; -1 if none. */
static int
bad_pin(const struct probe_answer *answer, bool skip_cpus, const struct vs_placement_pins *pins)
{
   for (unsigned i = 0; i < pins->count; i++) {
      if (!placed_device(answer, skip_cpus, pins->device[i]))
         return (int)i;
   }
   return -1;
}

/* The pins, as " (pins: uid U on GPU G, ...)" for the start line. */
static void
describe_pins(const struct vs_placement_pins *pins, char *text, size_t size)
{
   size_t used = 0;
   text[0] = '\0';
   for (unsigned i = 0; i < pins->count && used < size; i++)
      used += (size_t)snprintf(text + used, size - used, "%s uid %u on GPU %d", i ? "," : " (pins:",
                               (unsigned)pins->uid[i], pins->device[i]);
   if (pins->count && used < size)
      snprintf(text + used, size - used, ")");
}

struct vs_placement *
vs_placement_create(const struct vs_placement_pins *pins, bool *refused)
{
   *refused = false;
   struct probe_answer *answer = calloc(1, sizeof(*answer));
   if (!answer || !probe_gpus(answer)) {
      if (pins->count) {
         vs_error(0, "placement: the host's GPUs could not be counted, so --placement-pin cannot be checked; "
                     "not starting");
         *refused = true;
      } else {
         vs_warn(0, "placement: the host's GPUs could not be counted; every tenant sees every GPU");
      }
      free(answer);
      return NULL;
   }
   /* A CPU device beside GPUs (lavapipe installed on a GPU host) would
    * give its tenants no GPU. */
   unsigned gpus = 0, cpus = 0;
   for (int i = 0; i < answer->count; i++) {
      gpus += answer->types[i] != VK_PHYSICAL_DEVICE_TYPE_CPU;
      cpus += answer->types[i] == VK_PHYSICAL_DEVICE_TYPE_CPU;
   }
   const bool skip_cpus = gpus > 0;
   if (!skip_cpus)
      gpus = cpus;
   const int bad = bad_pin(answer, skip_cpus, pins);
   if (bad >= 0) {
      vs_error(0, "placement: --placement-pin %u=%d names no GPU of this host (%u GPUs%s); not starting",
               (unsigned)pins->uid[bad], pins->device[bad], gpus,
               skip_cpus && cpus ? ", besides its CPU devices" : "");
      *refused = true;
      free(answer);
      return NULL;
   }
   struct vs_placement *p = gpus >= 2 ? calloc(1, sizeof(*p)) : NULL;
   if (p && pthread_mutex_init(&p->lock, NULL) != 0) {
      free(p);
      p = NULL;
   }
   if (!p) {
      if (gpus >= 2)
         vs_warn(0, "placement: out of memory; every tenant sees every GPU");
      free(answer);
      return NULL;
   }
   for (int i = 0; i < answer->count; i++) {
      if (skip_cpus && answer->types[i] == VK_PHYSICAL_DEVICE_TYPE_CPU)
         continue;
      const unsigned g = p->gpu_count++;
      p->device_index[g] = i;
      memcpy(p->names[g], answer->names[i], sizeof(p->names[g]));
      p->names[g][sizeof(p->names[g]) - 1] = '\0';
      for (unsigned k = 0; k < pins->count; k++) {
         if (pins->device[k] == i) {
            p->pin_uid[p->pin_count] = pins->uid[k];
            p->pin_gpu[p->pin_count++] = (int)g;
         }
      }
   }
   char pinned[VS_PLACEMENT_PINS_MAX * 32];
   describe_pins(pins, pinned, sizeof(pinned));
   vs_info(0, "placement: %u GPUs%s; each new tenant is given the one with the fewest tenants (--placement all: "
              "every tenant sees every device)%s",
           p->gpu_count, skip_cpus && cpus ? " (the host's CPU devices get no tenants)" : "", pinned);
   free(answer);
   return p;
}

void
vs_placement_destroy(struct vs_placement *placement)
{
   if (!placement)
      return;
   pthread_mutex_destroy(&placement->lock);
   free(placement);
}

unsigned
vs_placement_gpu_count(const struct vs_placement *placement)
{
   return placement ? placement->gpu_count : 0;
}

int
vs_placement_device_index(const struct vs_placement *placement, int gpu)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return -1;
   return placement->device_index[gpu];
}

void
vs_placement_gpu_lost(struct vs_placement *placement, int gpu)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return;
   pthread_mutex_lock(&placement->lock);
   const bool newly = !placement->lost[gpu];
   placement->lost[gpu] = true;
   placement->lost_count += newly;
   const bool all = placement->lost_count == placement->gpu_count;
   pthread_mutex_unlock(&placement->lock);
   if (newly)
      vs_warn(0, "placement: GPU %d '%s' lost (a worker prepared for it got no device there); %s",
              placement->device_index[gpu], placement->names[gpu],
              all ? "every GPU is lost: new tenants are placed as if none were, and their devices may fail"
                  : "new tenants go to the others");
}

void
vs_placement_gpu_works(struct vs_placement *placement, int gpu)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return;
   pthread_mutex_lock(&placement->lock);
   const bool was_lost = placement->lost[gpu];
   placement->lost[gpu] = false;
   placement->lost_count -= was_lost;
   pthread_mutex_unlock(&placement->lock);
   if (was_lost)
      vs_info(0, "placement: GPU %d '%s' works again (a worker prepared for it got its device); new tenants may go "
                 "to it", placement->device_index[gpu], placement->names[gpu]);
}

/* The GPU `uid` is pinned to; -1 if none. */
static int
pinned_gpu(const struct vs_placement *placement, uid_t uid)
{
   for (unsigned i = 0; i < placement->pin_count; i++) {
      if (placement->pin_uid[i] == uid)
         return placement->pin_gpu[i];
   }
   return -1;
}

int
vs_placement_take(struct vs_placement *placement, uid_t uid)
{
   if (!placement)
      return -1;
   pthread_mutex_lock(&placement->lock);
   /* With every GPU lost, any is as good: none is skipped. */
   const bool skip_lost = placement->lost_count < placement->gpu_count;
   const int pinned = pinned_gpu(placement, uid);
   int best = pinned;
   for (unsigned g = 0; pinned < 0 && g < placement->gpu_count; g++) {
      if (!(skip_lost && placement->lost[g]) && (best < 0 || placement->tenants[g] < placement->tenants[best]))
         best = (int)g;
   }
   placement->tenants[best]++;
   pthread_mutex_unlock(&placement->lock);
   return best;
}

int
vs_placement_move_target(struct vs_placement *placement, int gpu, uid_t uid)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return -1;
   pthread_mutex_lock(&placement->lock);
   int best = -1;
   const bool pinned = pinned_gpu(placement, uid) >= 0;
   for (unsigned g = 0; !pinned && g < placement->gpu_count; g++) {
      if ((int)g != gpu && !placement->lost[g] && strcmp(placement->names[g], placement->names[gpu]) == 0 &&
          (best < 0 || placement->tenants[g] < placement->tenants[best]))
         best = (int)g;
   }
   pthread_mutex_unlock(&placement->lock);
   return best;
}

void
vs_placement_announce(struct vs_placement *placement, int gpu, const char *noun, uint32_t id, uid_t uid, pid_t pid)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return;
   char counts[VS_WORKER_GPUS_MAX * 11] = "";
   size_t used = 0;
   pthread_mutex_lock(&placement->lock);
   for (unsigned g = 0; g < placement->gpu_count && used < sizeof(counts); g++)
      used += (size_t)snprintf(counts + used, sizeof(counts) - used, "%s%u", g ? " " : "", placement->tenants[g]);
   pthread_mutex_unlock(&placement->lock);
   vs_info(0, "placement: %s %u (uid %u, process %d) on GPU %d '%s' (%stenants per GPU: %s)", noun, id, (unsigned)uid,
           (int)pid, placement->device_index[gpu], placement->names[gpu],
           pinned_gpu(placement, uid) >= 0 ? "pinned; " : "", counts);
}

void
vs_placement_give_back(struct vs_placement *placement, int gpu)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return;
   pthread_mutex_lock(&placement->lock);
   if (placement->tenants[gpu])
      placement->tenants[gpu]--;
   pthread_mutex_unlock(&placement->lock);
}

/* A worker process serves one tenant, on one GPU. */
static int worker_gpu = -1;

void
vs_placement_worker_set(int gpu)
{
   worker_gpu = gpu;
}

int
vs_placement_worker_gpu(void)
{
   return worker_gpu;
}

void
vs_placement_expose(const struct vs_placement *placement, int gpu, struct vs_renderer_options *options)
{
   if (options->device_index < 0)
      options->device_index = vs_placement_device_index(placement, gpu);
}

bool
vs_placement_retake(struct vs_placement *placement, int gpu)
{
   if (!placement || gpu < 0 || (unsigned)gpu >= placement->gpu_count)
      return false;
   pthread_mutex_lock(&placement->lock);
   placement->tenants[gpu]++;
   pthread_mutex_unlock(&placement->lock);
   return true;
}
