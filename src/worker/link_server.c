/* SPDX-License-Identifier: MIT */
/* The server's end of a worker link (worker/worker_link.h). The reader
 * (vs_server_link_serve, on the thread that waits for the worker) alone
 * touches the entry list; the display's threads ask for marks and fence
 * waits through the remote ops, under the link's lock. */
#include "worker/worker_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "memory/resource_table.h"
#include "memory/shared_registry.h"
#include "os/os.h"
#include "worker/link_message.h"

/* Memories one worker may have mapped in the server at once (each is a
 * mapping here: the server's map count is shared by every tenant). */
#define MAX_ENTRIES 8192
/* Fence requests in flight on one link (the display waits for one). */
#define MAX_PENDING 8
/* The worker's fence wait has three stages of the timeout each (marks,
 * fences, refresh); its answer may take a second more on a loaded host. */
#define ANSWER_SLACK_NS 1000000000ull

/* One memory the worker shared: the server's mapping of its memfd. */
struct remote_memory {
   struct vs_server_link *link;
   uint64_t id;
   uint64_t st_dev, st_ino;
   uint64_t size;
   void *map;
   size_t map_size;
   bool guarded; /* os_map_guarded: a file that could still shrink */
   struct vs_shared_entry *entry;
};

struct vs_server_link {
   struct vs_server_link *next_live; /* in live_links */
   /* Held while a message is read and handled: catch-up's moment of truth. */
   pthread_mutex_t read_lock;
   int fd;
   uint32_t ctx_id;
   uint64_t resource_owner; /* its worker's entries in the VM's resource table */
   pthread_mutex_t lock;
   pthread_cond_t answered;
   /* Under lock: */
   uint32_t refs; /* the reader, and each remote memory */
   bool dead;
   bool silence_told;
   uint64_t next_view, next_request;
   struct {
      uint64_t request; /* 0: free */
      bool done;
      uint32_t flags;
   } pending[MAX_PENDING];
   /* The reader's alone: */
   struct remote_memory **memories;
   uint32_t memory_count, memory_cap;
};

/* Every link opened and not yet done, for vs_server_links_catch_up. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_server_link *live_links;

#define CATCH_UP_NS 1000000000ull

void
vs_server_links_catch_up(void)
{
   uint64_t deadline = os_now_ns() + CATCH_UP_NS;
   pthread_mutex_lock(&live_lock);
   for (struct vs_server_link *link = live_links; link; link = link->next_live) {
      /* Caught up once no message is being handled and none waits. A
       * worker that sends half a message holds its reader: trylock, so
       * that it only costs the deadline. */
      for (;;) {
         int waiting = 1;
         if (pthread_mutex_trylock(&link->read_lock) == 0) {
            if (ioctl(link->fd, FIONREAD, &waiting) != 0)
               waiting = 0;
            pthread_mutex_unlock(&link->read_lock);
         }
         if (!waiting || os_now_ns() >= deadline)
            break;
         os_sleep_ns(200000);
      }
   }
   pthread_mutex_unlock(&live_lock);
}

static void
link_unref(struct vs_server_link *link)
{
   pthread_mutex_lock(&link->lock);
   bool last = --link->refs == 0;
   pthread_mutex_unlock(&link->lock);
   if (!last)
      return;
   close(link->fd);
   pthread_mutex_destroy(&link->read_lock);
   pthread_cond_destroy(&link->answered);
   pthread_mutex_destroy(&link->lock);
   free(link->memories);
   free(link);
}

/* Under lock. A failed send ends the link: a worker that reads nothing
 * has its requests refused, not queued. */
static bool
send_locked(struct vs_server_link *link, const struct vs_link_message *m)
{
   if (link->dead)
      return false;
   if (vs_link_send(link->fd, m, -1, true))
      return true;
   vs_warn(link->ctx_id, "worker link: the worker process takes no more requests (%s); its memory is no longer "
           "shown", strerror(errno));
   link->dead = true;
   shutdown(link->fd, SHUT_RDWR);
   pthread_cond_broadcast(&link->answered);
   return false;
}

static bool
remote_mark(void *remote, uint64_t entry_id, uint64_t *view_id)
{
   struct vs_server_link *link = ((struct remote_memory *)remote)->link;
   pthread_mutex_lock(&link->lock);
   *view_id = ++link->next_view;
   const struct vs_link_message m = { .type = VS_LINK_MARK, .entry_id = entry_id, .view = *view_id };
   bool ok = send_locked(link, &m);
   pthread_mutex_unlock(&link->lock);
   return ok;
}

static bool
remote_fence_wait(void *remote, uint64_t entry_id, uint64_t view_id, uint64_t timeout_ns, bool *refreshed)
{
   struct vs_server_link *link = ((struct remote_memory *)remote)->link;
   pthread_mutex_lock(&link->lock);
   unsigned slot = 0;
   while (slot < MAX_PENDING && link->pending[slot].request)
      slot++;
   bool ok = false;
   if (slot < MAX_PENDING) {
      uint64_t request = ++link->next_request;
      const struct vs_link_message m = { .type = VS_LINK_FENCE, .request = request, .entry_id = entry_id,
                                         .view = view_id, .size = timeout_ns };
      if (send_locked(link, &m)) {
         link->pending[slot].request = request;
         link->pending[slot].done = false;
         uint64_t deadline = os_now_ns() + 3 * timeout_ns + ANSWER_SLACK_NS;
         while (!link->pending[slot].done && !link->dead) {
            uint64_t now = os_now_ns();
            if (now >= deadline)
               break;
            os_cond_timedwait_ns(&link->answered, &link->lock, deadline - now);
         }
         if (link->pending[slot].done) {
            ok = link->pending[slot].flags & VS_LINK_FENCED_OK;
            *refreshed = link->pending[slot].flags & VS_LINK_FENCED_REFRESHED;
         } else if (!link->dead && !link->silence_told) {
            link->silence_told = true;
            vs_warn(link->ctx_id, "worker link: the worker process did not answer a fence request in %llu ms; "
                    "its frames are not shown until it does", (unsigned long long)((3 * timeout_ns +
                    ANSWER_SLACK_NS) / 1000000));
         }
         link->pending[slot].request = 0;
      }
   }
   pthread_mutex_unlock(&link->lock);
   return ok;
}

static void
remote_release(void *remote, uint64_t view_id)
{
   struct vs_server_link *link = ((struct remote_memory *)remote)->link;
   pthread_mutex_lock(&link->lock);
   const struct vs_link_message m = { .type = VS_LINK_RELEASE, .view = view_id };
   send_locked(link, &m);
   pthread_mutex_unlock(&link->lock);
}

static void
remote_free(void *remote, void *map, size_t size)
{
   struct remote_memory *rm = remote;
   (void)map;
   (void)size;
   if (rm->guarded)
      os_unmap_guarded(rm->map, rm->map_size, 0);
   else
      munmap(rm->map, rm->map_size);
   link_unref(rm->link);
   free(rm);
}

static const struct vs_shared_remote_ops remote_ops = {
   .mark = remote_mark,
   .fence_wait = remote_fence_wait,
   .release = remote_release,
   .free = remote_free,
};

static struct remote_memory *
find_memory(struct vs_server_link *link, uint64_t id, uint32_t *index)
{
   for (uint32_t i = 0; i < link->memory_count; i++) {
      if (link->memories[i]->id == id) {
         if (index)
            *index = i;
         return link->memories[i];
      }
   }
   return NULL;
}

/* Fills `why` and returns false when the worker's message is not one the
 * server accepts. */
static bool
on_born(struct vs_server_link *link, struct vs_shared_registry *registry, const struct vs_link_message *m, int fd,
        char *why, size_t why_size)
{
   struct stat st;
   if (fd < 0) {
      snprintf(why, why_size, "shared memory %llu came without its fd", (unsigned long long)m->entry_id);
      return false;
   }
   if (!m->entry_id || find_memory(link, m->entry_id, NULL)) {
      snprintf(why, why_size, "shared memory id %llu is 0 or taken", (unsigned long long)m->entry_id);
      return false;
   }
   if (link->memory_count >= MAX_ENTRIES) {
      snprintf(why, why_size, "more than %u shared memories at once", MAX_ENTRIES);
      return false;
   }
   if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !m->size || m->size > (uint64_t)st.st_size ||
       m->size > SIZE_MAX / 2) {
      snprintf(why, why_size, "shared memory %llu of %llu bytes is no file that large",
               (unsigned long long)m->entry_id, (unsigned long long)m->size);
      return false;
   }
   if (link->memory_count == link->memory_cap) {
      uint32_t cap = link->memory_cap ? 2 * link->memory_cap : 64;
      struct remote_memory **grown = realloc(link->memories, cap * sizeof(*grown));
      if (!grown) {
         snprintf(why, why_size, "out of memory");
         return false;
      }
      link->memories = grown;
      link->memory_cap = cap;
   }
   struct remote_memory *rm = calloc(1, sizeof(*rm));
   if (!rm) {
      snprintf(why, why_size, "out of memory");
      return false;
   }
   *rm = (struct remote_memory){ .link = link, .id = m->entry_id, .st_dev = (uint64_t)st.st_dev,
                                 .st_ino = (uint64_t)st.st_ino, .size = m->size };
   /* Read-only where the file can no longer shrink; else fault-safe (a
    * truncation by the worker reads as zeros here, never as SIGBUS). */
   size_t page = os_page_size();
   if (os_fd_size_sealed(fd)) {
      rm->map_size = (size_t)m->size;
      rm->map = mmap(NULL, rm->map_size, PROT_READ, MAP_SHARED, fd, 0);
      if (rm->map == MAP_FAILED)
         rm->map = NULL;
   } else {
      rm->map_size = ((size_t)m->size + page - 1) & ~(page - 1);
      rm->guarded = true;
      rm->map = os_map_guarded(fd, rm->map_size, 0);
   }
   if (!rm->map) {
      snprintf(why, why_size, "cannot map shared memory %llu: %s", (unsigned long long)m->entry_id, strerror(errno));
      free(rm);
      return false;
   }
   pthread_mutex_lock(&link->lock);
   link->refs++;
   pthread_mutex_unlock(&link->lock);
   rm->entry = vs_shared_register_remote(registry, link->ctx_id, rm->st_dev, rm->st_ino, rm->map, (size_t)rm->size,
                                         rm->id, &remote_ops, rm);
   if (!rm->entry) {
      remote_free(rm, NULL, 0);
      snprintf(why, why_size, "out of memory");
      return false;
   }
   link->memories[link->memory_count++] = rm;
   return true;
}

static void
drop_memory(struct vs_server_link *link, uint32_t index)
{
   struct remote_memory *rm = link->memories[index];
   link->memories[index] = link->memories[--link->memory_count];
   vs_shared_unregister_remote(rm->entry); /* frees rm once unpinned */
}

static bool
on_resource_add(struct vs_server_link *link, struct vs_vm_resource_table *resources, const struct vs_link_message *m,
                char *why, size_t why_size)
{
   /* Only memory this worker shared: a worker cannot name another's. */
   struct remote_memory *rm = NULL;
   for (uint32_t i = 0; i < link->memory_count && !rm; i++) {
      if (link->memories[i]->st_dev == m->st_dev && link->memories[i]->st_ino == m->st_ino)
         rm = link->memories[i];
   }
   if (!rm || !m->size) {
      snprintf(why, why_size, "resource %u names %llu bytes of memory (inode %llu) it did not share", m->res_id,
               (unsigned long long)m->size, (unsigned long long)m->st_ino);
      return false;
   }
   if (!resources)
      return true;
   /* The resource is what the server has of the memory: a blob can be
    * larger than the memory's file was when it was shared (an exact-size
    * memfd, grown to the guest's page-rounded blob afterwards). */
   const struct vs_resource_info info = { .res_id = m->res_id, .ctx_id = link->ctx_id,
                                          .owner = link->resource_owner, .st_dev = m->st_dev, .st_ino = m->st_ino,
                                          .size = m->size < rm->size ? m->size : rm->size,
                                          .blob_flags = m->blob_flags };
   if (!vs_vm_resources_add(resources, &info))
      vs_warn(link->ctx_id, "worker link: resource %u: listed twice by its worker (or out of memory)", m->res_id);
   else
      vs_debug(link->ctx_id, "worker link: resource %u listed: %llu bytes of inode %llu", m->res_id,
               (unsigned long long)info.size, (unsigned long long)m->st_ino);
   return true;
}

static bool
on_fenced(struct vs_server_link *link, const struct vs_link_message *m, char *why, size_t why_size)
{
   pthread_mutex_lock(&link->lock);
   bool known = m->request && m->request <= link->next_request;
   for (unsigned i = 0; known && i < MAX_PENDING; i++) {
      if (link->pending[i].request == m->request && !link->pending[i].done) {
         link->pending[i].done = true;
         link->pending[i].flags = m->flags;
         pthread_cond_broadcast(&link->answered);
      }
   }
   pthread_mutex_unlock(&link->lock);
   /* An answer to a request given up on is late, not wrong. */
   if (!known)
      snprintf(why, why_size, "an answer to fence request %llu, never asked", (unsigned long long)m->request);
   return known;
}

static bool
handle(struct vs_server_link *link, struct vs_shared_registry *registry, struct vs_vm_resource_table *resources,
       const struct vs_link_message *m, int fd, char *why, size_t why_size)
{
   if (m->type != VS_LINK_BORN && fd >= 0) {
      snprintf(why, why_size, "message %u came with an fd", m->type);
      return false;
   }
   switch (m->type) {
   case VS_LINK_BORN:
      return on_born(link, registry, m, fd, why, why_size);
   case VS_LINK_GONE: {
      uint32_t index;
      if (!find_memory(link, m->entry_id, &index)) {
         snprintf(why, why_size, "shared memory %llu gone, never born", (unsigned long long)m->entry_id);
         return false;
      }
      drop_memory(link, index);
      return true;
   }
   case VS_LINK_FENCED:
      return on_fenced(link, m, why, why_size);
   case VS_LINK_RESOURCE_ADD:
      return on_resource_add(link, resources, m, why, why_size);
   case VS_LINK_RESOURCE_REMOVE:
      if (resources)
         vs_vm_resources_remove(resources, link->resource_owner, m->res_id);
      return true;
   case VS_LINK_CONTEXT_END:
      if (resources)
         vs_vm_resources_remove_owner(resources, link->resource_owner);
      return true;
   default:
      snprintf(why, why_size, "unknown message type %u", m->type);
      return false;
   }
}

struct vs_server_link *
vs_server_link_open(int fd, uint32_t ctx_id)
{
   struct vs_server_link *link = calloc(1, sizeof(*link));
   if (!link || pthread_mutex_init(&link->lock, NULL) != 0 || pthread_mutex_init(&link->read_lock, NULL) != 0 ||
       os_cond_init(&link->answered) != 0) {
      vs_error(ctx_id, "worker link: out of memory; the worker's memory is not shown");
      free(link);
      close(fd);
      return NULL;
   }
   link->fd = fd;
   link->ctx_id = ctx_id;
   link->resource_owner = vs_vm_resources_new_owner();
   link->refs = 1;
   pthread_mutex_lock(&live_lock);
   link->next_live = live_links;
   live_links = link;
   pthread_mutex_unlock(&live_lock);
   return link;
}

static void
unlist(struct vs_server_link *link)
{
   pthread_mutex_lock(&live_lock);
   struct vs_server_link **at = &live_links;
   while (*at != link)
      at = &(*at)->next_live;
   *at = link->next_live;
   pthread_mutex_unlock(&live_lock);
}

void
vs_server_link_close(struct vs_server_link *link)
{
   if (!link)
      return;
   unlist(link);
   link_unref(link);
}

void
vs_server_link_serve(struct vs_server_link *link, struct vs_shared_registry *registry,
                     struct vs_vm_resource_table *resources)
{
   int fd = link->fd;
   uint32_t ctx_id = link->ctx_id;
   for (;;) {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
         break;
      struct vs_link_message m;
      int received;
      pthread_mutex_lock(&link->read_lock);
      enum vs_link_recv_result r = vs_link_recv(fd, &m, &received);
      char why[160];
      bool ok = r == VS_LINK_RECV_OK && handle(link, registry, resources, &m, received, why, sizeof(why));
      pthread_mutex_unlock(&link->read_lock);
      if (received >= 0)
         close(received); /* mapped, or refused */
      if (r == VS_LINK_RECV_EOF)
         break;
      if (ok)
         continue;
      if (r == VS_LINK_RECV_ERROR)
         snprintf(why, sizeof(why), "a message cut short or with more than one fd");
      vs_error(ctx_id, "worker link: dropping the link of a worker process: %s; its memory is no longer shown",
               why);
      break;
   }
   unlist(link);
   pthread_mutex_lock(&link->lock);
   link->dead = true;
   shutdown(fd, SHUT_RDWR);
   pthread_cond_broadcast(&link->answered);
   pthread_mutex_unlock(&link->lock);
   while (link->memory_count)
      drop_memory(link, link->memory_count - 1);
   if (resources)
      vs_vm_resources_remove_owner(resources, link->resource_owner);
   link_unref(link);
}
