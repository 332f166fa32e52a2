/* SPDX-License-Identifier: MIT */
/* Each tenant's shader cache: the host driver's on-disk cache (Mesa's,
 * NVIDIA's) kept per uid, which no other tenant's worker can read or
 * write. A cache shared between tenants would be a channel between them
 * (one tenant's entry run by another's driver).
 *
 * Under the cache's root, tenants/UID holds a uid's cache for good, and
 * workers/SERVER_PID/WORKER_PID is a worker's own directory, made before
 * it enters its sandbox, the one place it may write (os/sandbox.h), and
 * where its driver's cache points from its start (Mesa's multi-file
 * cache, which opens each entry by its path when it needs it: the warm-up
 * may open the cache before the tenant is known). When a worker is handed
 * a tenant, the server links the tenant's files into the worker's
 * directory before the tenant's first message is served; writes to those
 * files are the tenant's. When the worker ends, the server moves the
 * files it made back into the tenant's directory, within the tenant's
 * bound, and removes the worker's directory. A worker never sees another
 * tenant's directory. */
#ifndef VS_WORKER_SHADER_CACHE_H
#define VS_WORKER_SHADER_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* In the server, before it makes its worker pools: the cache under
 * `root` (made if missing), at most `bytes` per tenant. false (logged)
 * when the root cannot be used: workers run without a cache. */
bool vs_shader_cache_configure(const char *root, uint64_t bytes);
/* At the server's end: its workers' directories go. */
void vs_shader_cache_fini(void);

/* In a new worker, before its sandbox and any thread: its own directory,
 * made, and the driver's cache variables pointing there; NULL without a
 * cache. */
const char *vs_shader_cache_worker_dir(void);
/* In the server: worker `pid` is handed a tenant of `uid`. Until it
 * ends, its directory is watched where the OS can (os_dir_watch_open):
 * past twice the uid's bound, `end(end_data, pid)` ends it (its pool's
 * kill), with one line. */
void vs_shader_cache_lend(pid_t pid, uid_t uid, void (*end)(void *data, pid_t pid), void *end_data);
/* In the server: worker `pid` went back to the pool without its tenant
 * (it touched nothing): the lent files go. */
void vs_shader_cache_take_back(pid_t pid);
/* In the server, once worker `pid` has ended (with or without a tenant). */
void vs_shader_cache_return(pid_t pid);

#endif
