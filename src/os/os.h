/* The thin OS layer: the few calls that differ between Linux, other POSIX
 * systems and macOS. Everything else in the server uses plain POSIX.
 * Linux: memfd + eventfd (os_linux.c). Elsewhere: shm_open + pipe
 * (os_posix.c). */
#ifndef VS_OS_H
#define VS_OS_H

#include <stddef.h>
#include <stdint.h>

/* Anonymous shared memory of exactly `size` bytes that can be handed to
 * another process and mmapped there at offset 0. Returns an fd (CLOEXEC)
 * or -1 with errno set. `name` is a debugging label only. */
int os_shm_create(const char *name, size_t size);

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

/* An fd that is already readable, to hand to a client waiting on a sync
 * that is already satisfied; and one that becomes readable on signal.
 * Returns -1 on error. The caller owns the fd. */
int os_signalled_fd(void);

/* Lets the calling thread's short sleeps end on time (Linux pads them by
 * 50 us by default); a no-op where the OS has no such knob. */
void os_thread_set_timer_slack_ns(unsigned long ns);

/* Monotonic time in nanoseconds. */
uint64_t os_now_ns(void);

/* The system page size. */
size_t os_page_size(void);

#endif
