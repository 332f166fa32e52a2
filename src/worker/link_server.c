/* SPDX-License-Identifier: MIT */
/* The server's end of a worker link (worker/worker_link.h). Messages are
 * taken in, in the order sent, by the reader alone (vs_server_link_serve,
 * on the thread that waits for the worker), which also tears the link
 * down; it answers a worker's SYNC once everything before it is handled.
 * The display's threads ask for marks and fence waits through the remote
 * ops, under the link's lock. */
#include "worker/worker_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fair_share.h"
#include "base/log.h"
#include "vm/resource_table.h"
#include "renderer/memory/shared_registry.h"
#include "os/os.h"
#include "worker/link_message.h"
#include "worker/worker_pool.h"

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
   uint64_t charged_bytes; /* of the worker's bound and the links' pool */
   uint32_t charged_mappings;
   struct vs_shared_entry *entry;
};

struct vs_server_link {
   int fd; /* non-blocking */
   uint32_t ctx_id;
   uint64_t resource_owner; /* its worker's entries in the VM's resource table */
   struct vs_shared_registry *registry;
   struct vs_vm_resource_table *resources; /* NULL: none (vtest) */
   /* What its memories cost the server (vs_server_links_limit). */
   struct vs_fair_account bytes, mappings, guarded;
   pthread_mutex_t lock;
   pthread_cond_t answered;
   /* Under lock: */
   uint32_t refs; /* the reader, and each remote memory */
   bool dead;
   bool silence_told;
   uint64_t next_view, next_request;
   uint64_t mapped; /* bytes of its memories the server maps now */
   struct {
      uint64_t request; /* 0: free */
      bool done;
      uint32_t flags;
   } pending[MAX_PENDING];
   /* The reader's alone: */
   struct vs_link_message in; /* the message arriving */
   size_t in_got;
   int in_fd;
   unsigned in_fd_count;
   bool in_extra_fds;
   bool ended; /* the end of the stream, or a message refused */
   struct remote_memory **memories;
   uint32_t memory_count, memory_cap;
   /* Resources it listed and has not removed (one that another worker
    * took over still counts, until this one's context ends). */
   uint32_t resources_listed;
};

/* Set once at start-up, before any link opens. */
static struct vs_server_link_limits limits;

void
vs_server_links_limit(const struct vs_server_link_limits *link_limits)
{
   limits = *link_limits;
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
unmapped(struct vs_server_link *link, uint64_t bytes)
{
   pthread_mutex_lock(&link->lock);
   link->mapped -= bytes;
   pthread_mutex_unlock(&link->lock);
}

static void
uncharge(struct vs_server_link *link, uint64_t bytes, uint32_t mappings, bool guarded)
{
   if (guarded)
      vs_fair_give(&link->guarded, 1);
   vs_fair_give(&link->mappings, mappings);
   vs_fair_give(&link->bytes, bytes);
   unmapped(link, bytes);
}

/* What one more memory costs the server, taken if it is within what the
 * worker's tenant may hold (all its memories still mapped together), the
 * links' share of bytes and the share of mappings (and of fault-safe
 * mappings when `guarded`). */
static bool
charge(struct vs_server_link *link, uint64_t entry_id, uint64_t bytes, uint32_t mappings, bool guarded, char *why,
       size_t why_size)
{
   char pool_why[160];
   pthread_mutex_lock(&link->lock);
   const uint64_t held = link->mapped;
   const bool within = !limits.worker_bytes || (bytes <= limits.worker_bytes && held <= limits.worker_bytes - bytes);
   if (within)
      link->mapped += bytes;
   pthread_mutex_unlock(&link->lock);
   if (!within) {
      snprintf(why, why_size, "shared memory %llu of %llu bytes on top of the %llu bytes it has mapped passes the "
               "%llu its tenant may hold", (unsigned long long)entry_id, (unsigned long long)bytes,
               (unsigned long long)held, (unsigned long long)limits.worker_bytes);
      return false;
   }
   if (!vs_fair_take(&link->bytes, bytes, pool_why, sizeof(pool_why))) {
      snprintf(why, why_size, "no room to map shared memory %llu of %llu bytes: %s", (unsigned long long)entry_id,
               (unsigned long long)bytes, pool_why);
      unmapped(link, bytes); /* the pool took nothing */
      return false;
   }
   if (!vs_fair_take(&link->mappings, mappings, pool_why, sizeof(pool_why))) {
      snprintf(why, why_size, "no room to map shared memory %llu: %s", (unsigned long long)entry_id, pool_why);
      uncharge(link, bytes, 0, false);
      return false;
   }
   if (guarded && !vs_fair_take(&link->guarded, 1, pool_why, sizeof(pool_why))) {
      snprintf(why, why_size, "no room to map shared memory %llu that can still shrink: %s",
               (unsigned long long)entry_id, pool_why);
      uncharge(link, bytes, mappings, false);
      return false;
   }
   return true;
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
   uncharge(rm->link, rm->charged_bytes, rm->charged_mappings, rm->guarded);
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
   /* Sealed against shrinking before it is measured: a size measured
    * first could be cut by the worker before the seal, leaving the
    * server's unguarded mapping past the end of the file (SIGBUS). A file
    * that cannot be sealed is mapped fault-safe below. */
   const bool sealed = os_fd_size_sealed(fd);
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
    * truncation by the worker reads as zeros here, never as SIGBUS),
    * between two guards. */
   size_t page = os_page_size();
   rm->charged_bytes = (m->size + page - 1) & ~(uint64_t)(page - 1);
   rm->charged_mappings = sealed ? 1 : 3;
   rm->guarded = !sealed;
   if (!charge(link, m->entry_id, rm->charged_bytes, rm->charged_mappings, rm->guarded, why, why_size)) {
      free(rm);
      return false;
   }
   if (sealed) {
      rm->map_size = (size_t)m->size;
      rm->map = mmap(NULL, rm->map_size, PROT_READ, MAP_SHARED, fd, 0);
      if (rm->map == MAP_FAILED)
         rm->map = NULL;
   } else {
      rm->map_size = (size_t)rm->charged_bytes;
      rm->map = os_map_guarded(fd, rm->map_size, 0);
      /* The server only reads a worker's memory. */
      if (rm->map && mprotect(rm->map, rm->map_size, PROT_READ) != 0) {
         os_unmap_guarded(rm->map, rm->map_size, 0);
         rm->map = NULL;
      }
   }
   if (!rm->map) {
      snprintf(why, why_size, "cannot map shared memory %llu: %s", (unsigned long long)m->entry_id, strerror(errno));
      uncharge(link, rm->charged_bytes, rm->charged_mappings, rm->guarded);
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
   if (limits.resources && link->resources_listed >= limits.resources) {
      snprintf(why, why_size, "resource %u: more than %u resources listed at once (limit resources)", m->res_id,
               limits.resources);
      return false;
   }
   if (!vs_vm_resources_add(resources, &info)) {
      snprintf(why, why_size, "resource %u listed twice (or out of memory)", m->res_id);
      return false;
   }
   link->resources_listed++;
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
      if (resources && vs_vm_resources_remove(resources, link->resource_owner, m->res_id))
         link->resources_listed--;
      return true;
   case VS_LINK_CONTEXT_END:
      if (resources)
         vs_vm_resources_remove_owner(resources, link->resource_owner);
      link->resources_listed = 0;
      return true;
   case VS_LINK_SYNC: {
      /* Not sent: the link is dead, which wakes the worker as well. */
      const struct vs_link_message synced = { .type = VS_LINK_SYNCED, .request = m->request };
      pthread_mutex_lock(&link->lock);
      send_locked(link, &synced);
      pthread_mutex_unlock(&link->lock);
      return true;
   }
   default:
      snprintf(why, why_size, "unknown message type %u", m->type);
      return false;
   }
}

/* The worker's message refused, the link ends (the reader tears it
 * down). */
static void
refuse(struct vs_server_link *link, const char *why)
{
   vs_error(link->ctx_id, "worker link: dropping the link of a worker process: %s; its memory is no longer shown",
            why);
   link->ended = true;
   shutdown(link->fd, SHUT_RDWR);
}

/* Takes in what has arrived, without waiting, and handles every whole
 * message. False once the link has ended. */
static bool
take_in(struct vs_server_link *link)
{
   while (!link->ended) {
      ssize_t n = os_recv_fds(link->fd, (uint8_t *)&link->in + link->in_got, sizeof(link->in) - link->in_got,
                              &link->in_fd, 1, &link->in_fd_count, &link->in_extra_fds);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
         break;
      if (n < 0 && errno == ECONNRESET && !link->in_got)
         n = 0; /* the worker died with requests unread */
      if (n > 0 && !link->in_extra_fds) {
         link->in_got += (size_t)n;
         if (link->in_got < sizeof(link->in))
            continue;
         int fd = link->in_fd_count ? link->in_fd : -1;
         link->in_got = 0;
         link->in_fd_count = 0;
         char why[256];
         bool ok = handle(link, link->registry, link->resources, &link->in, fd, why, sizeof(why));
         if (fd >= 0)
            close(fd); /* mapped, or refused */
         if (!ok)
            refuse(link, why);
         continue;
      }
      if (link->in_fd_count)
         close(link->in_fd);
      link->in_fd_count = 0;
      if (n == 0 && !link->in_got && !link->in_extra_fds)
         link->ended = true; /* the worker closed its end */
      else
         refuse(link, "a message cut short or with more than one fd");
   }
   return !link->ended;
}

struct vs_server_link *
vs_server_link_open(int fd, uint32_t ctx_id, struct vs_shared_registry *registry,
                    struct vs_vm_resource_table *resources)
{
   /* Messages are taken in as they arrive, never awaited. */
   if (os_set_nonblocking(fd, true) != 0) {
      vs_error(ctx_id, "worker link: %s; the worker's memory is not shown", strerror(errno));
      close(fd);
      return NULL;
   }
   struct vs_server_link *link = calloc(1, sizeof(*link));
   if (!link || pthread_mutex_init(&link->lock, NULL) != 0 || os_cond_init(&link->answered) != 0) {
      vs_error(ctx_id, "worker link: out of memory; the worker's memory is not shown");
      free(link);
      close(fd);
      return NULL;
   }
   link->fd = fd;
   link->ctx_id = ctx_id;
   link->resource_owner = vs_vm_resources_new_owner();
   link->registry = registry;
   link->resources = resources;
   vs_fair_account_init(&link->bytes, limits.bytes);
   vs_fair_account_init(&link->mappings, limits.mappings);
   vs_fair_account_init(&link->guarded, limits.guarded);
   link->refs = 1;
   return link;
}

/* Drops what the worker had shared and the reader's reference. */
static void
finish(struct vs_server_link *link)
{
   pthread_mutex_lock(&link->lock);
   link->dead = true;
   shutdown(link->fd, SHUT_RDWR);
   pthread_cond_broadcast(&link->answered);
   pthread_mutex_unlock(&link->lock);
   if (link->in_fd_count)
      close(link->in_fd);
   while (link->memory_count)
      drop_memory(link, link->memory_count - 1);
   if (link->resources)
      vs_vm_resources_remove_owner(link->resources, link->resource_owner);
   link_unref(link);
}

void
vs_server_link_close(struct vs_server_link *link)
{
   if (link)
      finish(link);
}

void
vs_server_link_serve(struct vs_server_link *link, int ended_fd)
{
   for (;;) {
      struct pollfd pfds[2] = { { .fd = link->fd, .events = POLLIN }, { .fd = ended_fd, .events = POLLIN } };
      if (poll(pfds, 2, -1) < 0 && errno != EINTR)
         break;
      if (pfds[1].revents)
         break;
      if (!take_in(link))
         break;
   }
   finish(link);
}

int
vs_server_link_serve_worker(struct vs_server_link *link, struct vs_worker_pool *pool, pid_t pid)
{
   struct os_event ended;
   if (os_event_init(&ended) != 0) {
      /* Unwatched, a link could outlive its worker. */
      vs_error(link->ctx_id, "worker link: no event for worker process %d's end (%s); ending it", (int)pid,
               strerror(errno));
      vs_server_link_close(link);
      vs_worker_pool_kill(pool, pid);
      return vs_worker_pool_wait(pool, pid);
   }
   vs_worker_pool_watch_exit(pool, pid, &ended);
   vs_server_link_serve(link, ended.read_fd);
   /* Forgets the watch: `ended` is not signalled after this. */
   int status = vs_worker_pool_wait(pool, pid);
   os_event_fini(&ended);
   return status;
}
