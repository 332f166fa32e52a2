/* SPDX-License-Identifier: MIT */
/* Fault-safe mappings of shared memory that can shrink under the server.
 *
 * A memfd sealed against shrinking (os_fd_size_sealed) is safe to map. A
 * plain file, a POSIX shm object (-Dos=posix, macOS) or a memfd the peer
 * kept unsealed is not: its owner can ftruncate it, and the server's next
 * access past the new end raises SIGBUS, which kills the process. The same
 * cure as Wayland compositors use for wl_shm pools: os_map_guarded records
 * such mappings here, and a SIGBUS handler maps private zero pages in place
 * of the lost ones, so the access (the server's or the host driver's, on any
 * thread) goes on reading zeros, and counts the fault. Whoever owns the
 * mapping sees os_map_faulted and drops its client with one line.
 *
 * The table is lock-free: the handler reads it, other threads add and
 * remove entries. A SIGBUS outside every entry goes to the handler that was
 * there before (libwayland's, the sanitizers') or kills the process as it
 * would have. */
#include "os/shm_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/os.h"

/* Mappings that can shrink at once; beyond this mapping one fails (ENOMEM). */
#define GUARD_SLOTS 16384

struct guard_slot {
   _Atomic uintptr_t start; /* 0: free; UINTPTR_MAX: being filled */
   _Atomic size_t size;
   atomic_bool faulted;
};

static struct guard_slot slots[GUARD_SLOTS];
static _Atomic uint64_t fault_count;
static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static bool installed;
static uintptr_t page_size; /* sysconf is no call for a signal handler */

static void
pass_on(int sig, siginfo_t *info, void *uctx)
{
   if (previous.sa_flags & SA_SIGINFO) {
      previous.sa_sigaction(sig, info, uctx);
      return;
   }
   if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
      previous.sa_handler(sig);
      return;
   }
   /* The default action: die of SIGBUS once the access is retried. */
   signal(SIGBUS, SIG_DFL);
}

static void
on_sigbus(int sig, siginfo_t *info, void *uctx)
{
   uintptr_t addr = (uintptr_t)info->si_addr;
   for (size_t i = 0; i < GUARD_SLOTS; i++) {
      uintptr_t start = atomic_load(&slots[i].start);
      if (start == 0 || start == UINTPTR_MAX || addr < start || addr - start >= atomic_load(&slots[i].size))
         continue;
      int saved_errno = errno;
      /* The page the file lost becomes a private zero page (mmap is a
       * plain system call, safe here); each further lost page faults and
       * comes here in turn. */
      uintptr_t page = addr & ~(page_size - 1);
      void *got = mmap((void *)page, (size_t)page_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      errno = saved_errno;
      if (got == MAP_FAILED)
         break;
      atomic_store(&slots[i].faulted, true);
      atomic_fetch_add(&fault_count, 1);
      return;
   }
   pass_on(sig, info, uctx);
}

static void
install(void)
{
   page_size = (uintptr_t)os_page_size();
   struct sigaction sa;
   memset(&sa, 0, sizeof(sa));
   sa.sa_sigaction = on_sigbus;
   sa.sa_flags = SA_SIGINFO;
   sigemptyset(&sa.sa_mask);
   installed = sigaction(SIGBUS, &sa, &previous) == 0;
}

bool
os_shm_guard_add(void *map, size_t size)
{
   pthread_once(&install_once, install);
   if (!installed)
      return false;
   for (size_t i = 0; i < GUARD_SLOTS; i++) {
      uintptr_t expect = 0;
      if (!atomic_compare_exchange_strong(&slots[i].start, &expect, UINTPTR_MAX))
         continue;
      atomic_store(&slots[i].faulted, false);
      atomic_store(&slots[i].size, size);
      atomic_store(&slots[i].start, (uintptr_t)map);
      return true;
   }
   errno = ENOMEM;
   return false;
}

static struct guard_slot *
find(const void *map)
{
   for (size_t i = 0; i < GUARD_SLOTS; i++) {
      if (atomic_load(&slots[i].start) == (uintptr_t)map)
         return &slots[i];
   }
   return NULL;
}

void
os_shm_guard_remove(void *map)
{
   struct guard_slot *slot = map ? find(map) : NULL;
   if (slot)
      atomic_store(&slot->start, 0);
}

uint64_t
os_map_fault_count(void)
{
   return atomic_load(&fault_count);
}

bool
os_map_faulted(const void *map)
{
   struct guard_slot *slot = map ? find(map) : NULL;
   return slot && atomic_load(&slot->faulted);
}

size_t
os_map_guarded_max(void)
{
   return GUARD_SLOTS;
}
