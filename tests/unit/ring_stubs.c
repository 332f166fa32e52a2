/* What venus/ring.c still calls above itself (the dispatcher and the
 * context), so that test_ring_layout links ring.c without them. The layout
 * check needs none of these: each aborts if called. When ring.c stops
 * calling up (hooks instead of calls), delete the stubs that become
 * unused. */
#include <stdio.h>
#include <stdlib.h>

#include "dispatch/dispatch.h"
#include "venus/context.h"
#include "venus/context_state.h"

static void
stub_called(const char *name)
{
   fprintf(stderr, "ring_stubs.c: %s called\n", name);
   abort();
}

void
vs_dispatch_init(struct vs_dispatch *disp, struct vs_context *ctx, struct vs_ring *ring)
{
   stub_called(__func__);
}

void
vs_dispatch_fini(struct vs_dispatch *disp)
{
   stub_called(__func__);
}

bool
vs_dispatch_stream(struct vs_dispatch *disp, const void *data, size_t size,
                   void (*after)(void *, size_t), void *after_data)
{
   stub_called(__func__);
   return false;
}

bool
vs_dispatch_failed(const struct vs_dispatch *disp)
{
   stub_called(__func__);
   return true;
}

bool
vs_context_is_fatal(const struct vs_context *ctx)
{
   stub_called(__func__);
   return true;
}

void
vs_context_set_fatal(struct vs_context *ctx, const char *reason)
{
   stub_called(__func__);
}
