/* SPDX-License-Identifier: MIT */
#include "worker/connection_lines.h"

#include "base/log.h"
#include "os/os.h"

#define BURST 64
#define PER_SECOND 16

void
vs_connection_lines_init(struct vs_connection_lines *lines, const char *prefix, const char *peers)
{
   pthread_mutex_init(&lines->lock, NULL);
   vs_rate_limit_init(&lines->limit, BURST, PER_SECOND, os_now_ns());
   lines->prefix = prefix;
   lines->peers = peers;
}

void
vs_connection_lines_fini(struct vs_connection_lines *lines)
{
   pthread_mutex_destroy(&lines->lock);
}

bool
vs_connection_lines_pass(struct vs_connection_lines *lines)
{
   if (vs_log_threshold >= VS_LOG_DEBUG)
      return true;
   uint64_t dropped = 0;
   pthread_mutex_lock(&lines->lock);
   const bool pass = vs_rate_limit_pass(&lines->limit, os_now_ns(), &dropped);
   pthread_mutex_unlock(&lines->lock);
   if (dropped)
      vs_warn(0, "%s%llu connection lines dropped: %s connected, were refused or left before a first message faster "
                 "than %d at once or %d a second", lines->prefix, (unsigned long long)dropped, lines->peers, BURST,
              PER_SECOND);
   return pass;
}
