/* SPDX-License-Identifier: MIT */
/* The lines connecting causes, bounded for every door: a connection costs
 * its peer nothing, so the lines that connecting, being refused and
 * leaving before a first message write stop past 64 at once or 16 a
 * second (base/rate_limit.h), and one line counts the rest when the next
 * one passes. At debug level nothing is dropped. Thread-safe. */
#ifndef VS_WORKER_CONNECTION_LINES_H
#define VS_WORKER_CONNECTION_LINES_H

#include <pthread.h>
#include <stdbool.h>

#include "base/rate_limit.h"

struct vs_connection_lines {
   pthread_mutex_t lock;
   struct vs_rate_limit limit; /* under lock */
   const char *prefix;         /* leads the count's line: "" or "vhost-user: " */
   const char *peers;          /* who connects, for that line: "clients", "VMMs" */
};

void vs_connection_lines_init(struct vs_connection_lines *lines, const char *prefix, const char *peers);
void vs_connection_lines_fini(struct vs_connection_lines *lines);

/* Whether a connection's line may be written now (first writes the count
 * of those dropped before it). */
bool vs_connection_lines_pass(struct vs_connection_lines *lines);

#endif
