/* SPDX-License-Identifier: MIT */
/* The thin OS layer: the few calls that differ between Linux, other POSIX
 * systems and macOS. Everything else in the server uses plain POSIX.
 *
 * os_posix.c is compiled on every host: the portable core (clocks, fd
 * flags, monotonic condition waits, per-socket SIGPIPE, thread names) and
 * the POSIX backend (shm_open or an unlinked temp file, pipes, no timer
 * slack, a pipe that tells workers the server died). The Linux backend
 * (os_linux.c: memfd, eventfd, prctl) replaces the backend part when meson's
 * -Dos=auto picks it (on Linux); -Dos=posix builds the macOS code paths on
 * Linux. */
#ifndef VS_OS_H
#define VS_OS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* --- backend: os_linux.c, or os_posix.c with -Dos=posix / off Linux --- */

/* Anonymous shared memory of exactly `size` bytes that can be handed to
 * another process and mmapped there at offset 0. Returns an fd (CLOEXEC)
 * or -1 with errno set. `name` is a debugging label only. On Linux it is a
 * memfd sealed against shrinking (a client that truncated it would fault
 * the server), against growing once its size is final (os_shm_seal_size),
 * not with F_SEAL_SEAL: a VMM's render-server proxy
 * adds F_SEAL_SEAL|SHRINK|GROW to every SHM blob and refuses the blob if
 * that add fails. Elsewhere it cannot be sealed: os_map_guarded maps it
 * fault-safe. */
int os_shm_create(const char *name, size_t size);

/* Before an fd of os_shm_create goes to a client that is no VMM proxy:
 * no seal may be added any more (F_SEAL_SEAL; else F_SEAL_FUTURE_WRITE
 * would break the server's next writable mapping). A no-op elsewhere. */
void os_shm_seal_final(int fd);

/* After process `pid` (a worker) has ended: removes the shared memory
 * objects it created but had not unlinked yet, which a kill between the
 * two steps leaves behind. A no-op where shared memory has no name (memfd)
 * or the system cannot list the names (macOS). */
void os_shm_forget(pid_t pid);

/* Once the size of an fd of os_shm_create is final: seal it against
 * growing too (F_SEAL_GROW). Creation seals only shrinking, which is what
 * could fault the server's mapping; render-server device memory still
 * grows to the guest's page-rounded blob size before it is handed out. A
 * no-op elsewhere. */
void os_shm_seal_size(int fd);

/* Whether shared memory `fd` can no longer shrink: a memfd sealed against
 * shrinking (the seal is added here if it still can be). False for plain
 * files, POSIX shm and where the OS has no seals. */
bool os_fd_size_sealed(int fd);
/* Whether this OS's shared memory (os_shm_create's) can be sealed: where it
 * cannot, a peer's shared memory is mapped fault-safe instead. */
bool os_shm_has_seals(void);

/* A wakeup object: readable (POLLIN) once signalled until drained.
 * read_fd is what pollers wait on; write_fd is what os_event_signal uses
 * (they are the same fd on Linux). */
struct os_event {
   int read_fd;
   int write_fd;
};

int os_event_init(struct os_event *ev);
void os_event_signal(struct os_event *ev);
void os_event_drain(struct os_event *ev);
void os_event_fini(struct os_event *ev);

/* Waits until `fd` is readable (or hung up, or failed): true; or until
 * `park_fd` (a wakeup object's read_fd; -1: none) is, which wins when
 * both are: false. What a reader that a live upgrade parks between two
 * messages waits on. */
bool os_await_readable(int fd, int park_fd);

/* Whether a peer's fd is a wakeup object of this OS's kind: an eventfd on
 * Linux, a pipe or FIFO elsewhere (what os_event_signal would write to). */
bool os_fd_is_event(int fd);
/* A wakeup object made of `fd`, the signalling end of one made by another
 * process (checked by os_fd_is_event); the event owns it. Its read end, if
 * apart, stays where it is. */
void os_event_adopt(struct os_event *ev, int fd);

/* An fd that is already readable, to hand to a client waiting on a sync
 * that is already satisfied; and one that becomes readable on signal.
 * Returns -1 on error. The caller owns the fd. */
int os_signalled_fd(void);

/* Lets the calling thread's short sleeps end on time (Linux pads them by
 * 50 us by default); a no-op where the OS has no such knob. */
void os_thread_set_timer_slack_ns(unsigned long ns);

/* Ties --isolate process workers to the server process that forks them: a
 * VMM ends its render server with SIGKILL and counts on every context
 * socket closing with it, so no worker may outlive the server. Linux: the
 * worker asks for SIGKILL when its parent dies, and the kernel takes the
 * parent to be the thread that forked it: fork only from a thread that
 * outlives the worker (one that waits for it). POSIX: a pipe whose write end
 * only the server process keeps; a thread in each worker reads it and ends
 * the worker at EOF, which comes once that process is gone. */
struct os_worker_tie {
   pid_t server_pid; /* Linux backend */
   int read_fd;      /* POSIX backend; -1 on Linux */
   int write_fd;
};

/* In the server process, before its first fork. 0, or -1 with errno. */
int os_worker_tie_init(struct os_worker_tie *tie);
void os_worker_tie_fini(struct os_worker_tie *tie);

/* First thing in a freshly forked worker: ties it to the server process and
 * closes every fd from 3 up but the `count` (at most 4) in `keep` (a
 * worker must not hold its siblings' sockets). False if the server is
 * already gone or the tie cannot be made: the worker must _exit at once. */
bool os_worker_start(const struct os_worker_tie *tie, const int *keep, size_t count);

/* Fills buf with `len` bytes from the OS's cryptographic random source
 * (getrandom on Linux, /dev/urandom elsewhere). 0, or -1 with errno. */
int os_random_bytes(void *buf, size_t len);

/* How many memory mappings the kernel lets one process hold
 * (vm.max_map_count on Linux); 0 if the OS does not say. */
uint64_t os_max_mappings(void);

/* Changes in directories, announced by the kernel (inotify on Linux): a
 * watch fd, readable (POLLIN) once a file in a watched directory was
 * made, written, moved in or truncated. -1 with errno ENOSYS where this
 * backend has none (a kqueue one would do on macOS). */
int os_dir_watch_open(void);
/* Watches directory `path` itself (not what is below it, and never
 * through a link): >= 0, its id in os_dir_watch_read (the same id for a
 * directory watched already); -1 with errno set. */
int os_dir_watch_add(int watch_fd, const char *path);
void os_dir_watch_remove(int watch_fd, int id);
/* Reads what is pending without waiting: the ids of the directories that
 * changed into `ids` (at most `max`, repeats possible), -1 among them when
 * the kernel lost changes (any directory may have changed). The count. */
unsigned os_dir_watch_read(int watch_fd, int *ids, unsigned max);

/* --- portable core: os_posix.c, every host --- */

/* Monotonic time in nanoseconds. */
uint64_t os_now_ns(void);

/* Sleeps this long (resumed after signals). */
void os_sleep_ns(uint64_t ns);

/* A CPU pause for busy-wait loops (x86 PAUSE, Arm YIELD): eases the core
 * and its hyperthread sibling without leaving the CPU. */
static inline void
os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
   __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
   __asm__ __volatile__("yield" ::: "memory");
#elif defined(__riscv)
   __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory"); /* pause */
#else
   __asm__ __volatile__("" ::: "memory");
#endif
}

/* Busy-waits until ready(arg) holds (true) or `ns` have passed (false),
 * with a CPU pause between looks and without leaving the CPU: for the
 * microsecond or so between two yields of a longer poll. */
bool os_spin_ns(bool (*ready)(void *), void *arg, uint64_t ns);

/* A bounded poll: os_spin_ns a microsecond at a time, yielding the CPU in
 * between (a thread that shares the CPU, such as the peer being waited
 * for, runs then), until ready(arg) holds (true) or `ns` have passed since
 * the call (false). It never sleeps: callers bound `ns` to tens of
 * microseconds and then block. */
bool os_poll_ns(bool (*ready)(void *), void *arg, uint64_t ns);

/* The system page size. */
size_t os_page_size(void);

/* Raises the soft RLIMIT_NOFILE to the hard limit (OPEN_MAX where the OS
 * caps it). Returns the soft limit in force afterwards (UINT64_MAX: none),
 * 0 if it cannot be read. */
uint64_t os_raise_fd_limit(void);

/* Maps `size` bytes (a multiple of the page size) of shared memory `fd`
 * read-write at an `align`-aligned address (a power of two; 0 or less than
 * a page: the page) between two PROT_NONE guards of max(align, page)
 * bytes, so that an access running off either end faults instead of
 * reaching a neighbouring mapping. NULL with errno set on failure. */
void *os_map_guarded(int fd, size_t size, size_t align);
/* Unmaps what os_map_guarded returned, guards included (same size, align). */
void os_unmap_guarded(void *map, size_t size, size_t align);
/* A file that can still shrink (os_fd_size_sealed false: a plain file,
 * POSIX shm, a peer's unsealed memfd) is mapped fault-safe by
 * os_map_guarded (shm_guard.c): once its owner truncates it, the server's
 * accesses past the end read zero pages instead of dying of SIGBUS, and
 * the mapping counts as faulted, for its owner to drop the client. */
uint64_t os_map_fault_count(void);
/* How many such fault-safe mappings the process holds at most at once. */
size_t os_map_guarded_max(void);
bool os_map_faulted(const void *map);

/* The uid of a connected Unix socket's peer (SO_PEERCRED, getpeereid).
 * 0, or -1 with errno where it cannot be known. */
int os_peer_uid(int fd, uid_t *uid);
/* The process id of a connected Unix socket's peer (as it connected):
 * SO_PEERCRED, LOCAL_PEERPID. 0, or -1 with errno where it cannot be
 * known. */
int os_peer_pid(int fd, pid_t *pid);

/* Set FD_CLOEXEC; set or clear O_NONBLOCK. 0 on success, -1 with errno. */
int os_set_cloexec(int fd);
int os_set_nonblocking(int fd, bool nonblocking);

/* A connected socket that must never raise SIGPIPE, whatever the process's
 * signal dispositions: sets SO_NOSIGPIPE where the OS has it (macOS, BSDs);
 * elsewhere every send passes MSG_NOSIGNAL. 0 on success, -1 with errno. */
int os_socket_prepare(int fd);

/* Most fds one os_send_fds or os_recv_fds carries: a vhost-user mem table
 * brings one per region, up to 8; a worker's job up to VS_WORKER_FDS_MAX
 * (worker/worker_pool.h). */
#define OS_FDS_MAX 40

/* One sendmsg of `len` bytes with `fd_count` fds (at most OS_FDS_MAX)
 * passed along (SCM_RIGHTS), retried on EINTR; `flags` as sendmsg's.
 * The bytes sent (the fds ride on them), or -1 with errno. */
ssize_t os_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned fd_count, int flags);

/* One recvmsg of at most `len` bytes, retried on EINTR. The fds that came
 * with them are appended to fds[*fd_count], at most `max` in all and each
 * close-on-exec; any beyond, or cut off by the kernel (MSG_CTRUNC), are
 * closed and set *excess. The bytes read (0: end of stream), or -1 with
 * errno. */
ssize_t os_recv_fds(int sock, void *buf, size_t len, int *fds, unsigned max, unsigned *fd_count, bool *excess);

/* A condition variable that os_cond_timedwait_ns can wait on: it measures
 * its timeouts on the monotonic clock, so wall-clock jumps do not stretch or
 * cut them. 0 on success, else an error number (as pthread_cond_init). */
int os_cond_init(pthread_cond_t *cond);

/* Wait on a condition made by os_cond_init for at most `ns` nanoseconds,
 * `mutex` held. Returns 0, ETIMEDOUT or another error number; wakeups may be
 * spurious, so callers loop on their predicate. */
int os_cond_timedwait_ns(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t ns);

/* In a freshly forked child: closes every fd from 3 up but the `count`
 * fds in `keep` (os_worker_start's part in both backends). */
void os_close_fds_except(const int *keep, size_t count);

/* No other process of the same user attaches to this one or reads its
 * memory and fds (Linux: not dumpable; macOS: PT_DENY_ATTACH); inherited
 * by its children. 0, or an errno. */
int os_refuse_attach(void);

/* Bounds the process's private memory (its heap and private mappings, not
 * shared memory) at `bytes` more than it holds now, for good: an
 * allocation past it fails, in this process alone (RLIMIT_DATA; where the
 * kernel counts only the heap, that). What it holds now counts where the
 * OS says (Linux: a sanitizer's shadow is already terabytes). 0, or an
 * errno. */
int os_bound_private_memory(uint64_t bytes);

/* A kernel bound on each worker process's tasks (its threads), beneath the
 * server's own counts: a pids cgroup per worker. Prepared once, by the
 * server before it makes workers: under its own pids cgroup on cgroup v1;
 * on cgroup v2 only where its cgroup was delegated to it (systemd's
 * Delegate=), which it then splits: it moves into a leaf of its own
 * ("server") and each worker's cgroup goes beside it. 0, or an errno with
 * `why` naming what is missing (ENOSYS: no pids cgroup here). */
int os_task_bound_prepare(char *why, size_t why_size);
/* In a worker, before its sandbox: moves the calling process into a cgroup
 * of its own that holds at most `max_tasks` tasks. 0, or an errno. */
int os_task_bound_enter(uint32_t max_tasks);
/* Once worker `pid` was reaped: its cgroup goes. */
void os_task_bound_release(pid_t pid);

/* Names the calling thread for debuggers, top and crash reports (truncated
 * to 15 bytes, the Linux limit); a no-op where the OS cannot. */
void os_thread_set_name(const char *name);

#endif
