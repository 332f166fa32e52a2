/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the input is a Venus command stream as the context
 * side (SUBMIT_CMD2) would execute it, in a fresh context that already has
 * one shared-memory resource (id 1) a stream may name as its reply window.
 * Crashes, leaks and sanitizer reports are what count. */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "base/log.h"
#include "context/context.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vs_log_threshold = VS_LOG_SILENT;
   struct vs_context_options options;
   vs_context_options_default(&options);
   struct vs_context *ctx = vs_context_create(1, "fuzz", &options);
   struct vs_blob blob;
   if (vs_context_create_blob(ctx, 1, VS_BLOB_TYPE_HOST3D, VS_BLOB_FLAG_MAPPABLE, 1 << 16, 0, &blob))
      close(blob.fd);
   vs_context_submit(ctx, data, size);
   vs_context_destroy(ctx);
   return 0;
}
