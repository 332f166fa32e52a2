/* SPDX-License-Identifier: MIT */
/* The worker's end of its link (worker/worker_link.h): its registry
 * publishes each memfd to the server, and a thread of the link answers
 * the server's marks and fence waits by running them here, on the entry
 * that owns the memory (the server cannot reach this process's queues),
 * and wakes a sync when the server has answered it. */
#include "worker/worker_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "renderer/memory/shared_registry.h"
#include "os/os.h"
#include "worker/link_message.h"

/* Marked views the server holds at once (the display keeps a few frames). */
#define MAX_VIEWS 64
/* No wait of the server's asking lasts longer than this, whatever it says. */
#define MAX_TIMEOUT_NS 10000000000ull
/* How long a sync waits for the server's answer: its reader handles a
 * message in microseconds, but the answer can queue behind a fence wait
 * this link's thread runs (three stages of the display's 2 s timeout). */
#define SYNC_TIMEOUT_NS 10000000000ull

struct vs_worker_link {
   int fd;
   uint32_t ctx_id;
   struct vs_shared_registry *registry;
   pthread_mutex_t send_lock;
   pthread_t thread;
   bool thread_started;
   /* Under sync_lock: */
   pthread_mutex_t sync_lock;
   pthread_cond_t synced_cond;
   uint64_t sync_sent, synced; /* the last SYNC sent, the last answered */
   bool closed;                /* the server ended the link */
   /* The link thread's alone: */
   struct {
      uint64_t id; /* the server's view id; 0: free */
      struct vs_shared_view view;
   } views[MAX_VIEWS];
};

/* Sends from any of the worker's threads; the server's reader never stops
 * reading, so a blocking send only waits for room. */
static void
send_message(struct vs_worker_link *link, const struct vs_link_message *m, int fd)
{
   pthread_mutex_lock(&link->send_lock);
   bool ok = vs_link_send(link->fd, m, fd, false);
   pthread_mutex_unlock(&link->send_lock);
   if (!ok)
      vs_debug(link->ctx_id, "worker link: message %u not sent: %s", m->type, strerror(errno));
}

static void
on_born(void *data, uint64_t entry_id, int fd, size_t size)
{
   const struct vs_link_message m = { .type = VS_LINK_BORN, .entry_id = entry_id, .size = size };
   send_message(data, &m, fd);
}

static void
on_gone(void *data, uint64_t entry_id)
{
   const struct vs_link_message m = { .type = VS_LINK_GONE, .entry_id = entry_id };
   send_message(data, &m, -1);
}

static int
find_view(struct vs_worker_link *link, uint64_t id)
{
   for (int i = 0; id && i < MAX_VIEWS; i++) {
      if (link->views[i].id == id)
         return i;
   }
   return -1;
}

static void
on_mark(struct vs_worker_link *link, const struct vs_link_message *m)
{
   int slot = -1;
   for (int i = 0; slot < 0 && i < MAX_VIEWS && m->view && find_view(link, m->view) < 0; i++) {
      if (!link->views[i].id)
         slot = i;
   }
   /* No slot, or the memory is gone already: the fence request finds no
    * view and is answered false. */
   if (slot < 0 || !vs_shared_acquire_id(link->registry, m->entry_id, &link->views[slot].view))
      return;
   link->views[slot].id = m->view;
   vs_shared_mark(&link->views[slot].view);
}

static void
on_fence(struct vs_worker_link *link, const struct vs_link_message *m)
{
   struct vs_link_message answer = { .type = VS_LINK_FENCED, .request = m->request };
   uint64_t timeout_ns = m->size < MAX_TIMEOUT_NS ? m->size : MAX_TIMEOUT_NS;
   struct vs_shared_view unmarked, *view = NULL;
   int slot = find_view(link, m->view);
   if (slot >= 0)
      view = &link->views[slot].view;
   else if (!m->view && vs_shared_acquire_id(link->registry, m->entry_id, &unmarked))
      view = &unmarked;
   if (view && vs_shared_fence_wait(view, timeout_ns))
      answer.flags |= VS_LINK_FENCED_OK;
   if (view && view->refreshed)
      answer.flags |= VS_LINK_FENCED_REFRESHED;
   if (view == &unmarked)
      vs_shared_release(&unmarked);
   send_message(link, &answer, -1);
}

static void
on_synced(struct vs_worker_link *link, const struct vs_link_message *m)
{
   pthread_mutex_lock(&link->sync_lock);
   if (m->request > link->synced && m->request <= link->sync_sent) {
      link->synced = m->request;
      pthread_cond_broadcast(&link->synced_cond);
   }
   pthread_mutex_unlock(&link->sync_lock);
}

static void
release_view(struct vs_worker_link *link, int slot)
{
   vs_shared_release(&link->views[slot].view);
   link->views[slot].id = 0;
}

static void *
link_thread(void *arg)
{
   struct vs_worker_link *link = arg;
   os_thread_set_name("vs-worker-link");
   for (;;) {
      struct vs_link_message m;
      int fd;
      if (vs_link_recv(link->fd, &m, &fd) != VS_LINK_RECV_OK)
         break;
      if (fd >= 0)
         close(fd);
      if (m.type == VS_LINK_MARK) {
         on_mark(link, &m);
      } else if (m.type == VS_LINK_FENCE) {
         on_fence(link, &m);
      } else if (m.type == VS_LINK_RELEASE) {
         int slot = find_view(link, m.view);
         if (slot >= 0)
            release_view(link, slot);
      } else if (m.type == VS_LINK_SYNCED) {
         on_synced(link, &m);
      }
   }
   pthread_mutex_lock(&link->sync_lock);
   link->closed = true;
   pthread_cond_broadcast(&link->synced_cond);
   pthread_mutex_unlock(&link->sync_lock);
   /* The server is gone (or stopping us): its views pin nothing any more. */
   for (int i = 0; i < MAX_VIEWS; i++) {
      if (link->views[i].id)
         release_view(link, i);
   }
   return NULL;
}

struct vs_worker_link *
vs_worker_link_start(int fd, uint32_t ctx_id)
{
   struct vs_worker_link *link = calloc(1, sizeof(*link));
   if (link) {
      link->fd = fd;
      link->ctx_id = ctx_id;
      link->registry = vs_shared_registry_create();
   }
   if (!link || !link->registry || pthread_mutex_init(&link->send_lock, NULL) != 0 ||
       pthread_mutex_init(&link->sync_lock, NULL) != 0 || os_cond_init(&link->synced_cond) != 0) {
      vs_error(ctx_id, "worker link: out of memory; this client's memory cannot be shown");
      if (link)
         vs_shared_registry_destroy(link->registry);
      free(link);
      close(fd);
      return NULL;
   }
   const struct vs_shared_publisher publisher = { .born = on_born, .gone = on_gone, .data = link };
   vs_shared_registry_publish(link->registry, &publisher);
   /* Before the sandbox, which refuses no thread but is entered later. */
   int err = pthread_create(&link->thread, NULL, link_thread, link);
   if (err) {
      vs_error(ctx_id, "worker link: cannot start its thread: %s; this client's memory cannot be shown", strerror(err));
      vs_worker_link_stop(link);
      return NULL;
   }
   link->thread_started = true;
   return link;
}

struct vs_shared_registry *
vs_worker_link_registry(struct vs_worker_link *link)
{
   return link ? link->registry : NULL;
}

void
vs_worker_link_resource_created(struct vs_worker_link *link, uint32_t res_id, int fd, uint64_t size,
                                uint32_t blob_flags)
{
   struct stat st;
   struct vs_shared_view view;
   if (!link || fstat(fd, &st) != 0)
      return;
   if (!vs_shared_acquire(link->registry, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &view)) {
      /* Memory the server cannot map (no host pointer behind it). */
      vs_debug(link->ctx_id, "worker link: resource %u: its memory (inode %llu) is not shared; it cannot be shown",
               res_id, (unsigned long long)st.st_ino);
      return;
   }
   /* Sent while pinned: its BORN went first, its GONE cannot yet. */
   const struct vs_link_message m = { .type = VS_LINK_RESOURCE_ADD, .res_id = res_id, .st_dev = (uint64_t)st.st_dev,
                                      .st_ino = (uint64_t)st.st_ino, .size = size < view.size ? size : view.size,
                                      .blob_flags = blob_flags };
   send_message(link, &m, -1);
   vs_shared_release(&view);
}

bool
vs_worker_link_sync(struct vs_worker_link *link)
{
   if (!link)
      return true;
   pthread_mutex_lock(&link->sync_lock);
   const uint64_t request = ++link->sync_sent;
   pthread_mutex_unlock(&link->sync_lock);
   const struct vs_link_message m = { .type = VS_LINK_SYNC, .request = request };
   pthread_mutex_lock(&link->send_lock);
   bool sent = vs_link_send(link->fd, &m, -1, false);
   pthread_mutex_unlock(&link->send_lock);
   if (!sent)
      return true; /* the server ended the link: it holds nothing of ours */
   const uint64_t deadline = os_now_ns() + SYNC_TIMEOUT_NS;
   pthread_mutex_lock(&link->sync_lock);
   while (link->synced < request && !link->closed) {
      uint64_t now = os_now_ns();
      if (now >= deadline)
         break;
      os_cond_timedwait_ns(&link->synced_cond, &link->sync_lock, deadline - now);
   }
   const bool ok = link->synced >= request || link->closed;
   pthread_mutex_unlock(&link->sync_lock);
   return ok;
}

void
vs_worker_link_resource_destroyed(struct vs_worker_link *link, uint32_t res_id)
{
   if (!link)
      return;
   const struct vs_link_message m = { .type = VS_LINK_RESOURCE_REMOVE, .res_id = res_id };
   send_message(link, &m, -1);
}

void
vs_worker_link_context_ended(struct vs_worker_link *link)
{
   if (!link)
      return;
   const struct vs_link_message m = { .type = VS_LINK_CONTEXT_END };
   send_message(link, &m, -1);
}

void
vs_worker_link_stop(struct vs_worker_link *link)
{
   if (!link)
      return;
   shutdown(link->fd, SHUT_RDWR);
   if (link->thread_started)
      pthread_join(link->thread, NULL);
   close(link->fd);
   pthread_mutex_destroy(&link->send_lock);
   pthread_cond_destroy(&link->synced_cond);
   pthread_mutex_destroy(&link->sync_lock);
   vs_shared_registry_destroy(link->registry);
   free(link);
}
