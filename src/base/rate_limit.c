/* SPDX-License-Identifier: MIT */
#include "base/rate_limit.h"

void
vs_rate_limit_init(struct vs_rate_limit *limit, unsigned burst, unsigned per_second, uint64_t now_ns)
{
   limit->cost_ns = 1000000000ull / (per_second ? per_second : 1);
   limit->bucket_ns = (uint64_t)(burst ? burst : 1) * limit->cost_ns;
   limit->credit_ns = limit->bucket_ns;
   limit->last_ns = now_ns;
   limit->dropped = 0;
}

bool
vs_rate_limit_pass(struct vs_rate_limit *limit, uint64_t now_ns, uint64_t *dropped_before)
{
   if (now_ns > limit->last_ns) {
      const uint64_t gained = now_ns - limit->last_ns;
      limit->credit_ns =
         gained >= limit->bucket_ns - limit->credit_ns ? limit->bucket_ns : limit->credit_ns + gained;
      limit->last_ns = now_ns;
   }
   if (limit->credit_ns < limit->cost_ns) {
      limit->dropped++;
      return false;
   }
   limit->credit_ns -= limit->cost_ns;
   *dropped_before = limit->dropped;
   limit->dropped = 0;
   return true;
}
