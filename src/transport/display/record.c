/* SPDX-License-Identifier: MIT */
/* --record: the encoder's access units appended to a file, as they come
 * (an Annex B H.264 stream any player reads). Always ready: with a
 * recording the encoder takes every frame it can. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/display/display_internal.h"
#include "base/log.h"

struct vs_record {
   FILE *file;                        /* NULL once a write failed */
};

struct vs_record *
vs_record_open(const char *path, bool append)
{
   struct vs_record *r = calloc(1, sizeof(*r));
   if (!r) {
      vs_error(0, "display: out of memory");
      return NULL;
   }
   r->file = fopen(path, append ? "abe" : "wbe");
   if (!r->file) {
      vs_error(0, "display: cannot open %s for the recording: %s", path, strerror(errno));
      free(r);
      return NULL;
   }
   return r;
}

static void
record_send(void *data, const struct vs_access_unit *unit)
{
   struct vs_record *r = data;
   /* Through at once: a live upgrade's exec leaves no access unit half
    * written. */
   if (r->file && (fwrite(unit->data, 1, unit->size, r->file) != unit->size || fflush(r->file) != 0)) {
      vs_error(0, "display: writing the recording failed: %s; recording stops", strerror(errno));
      fclose(r->file);
      r->file = NULL;
   }
}

struct vs_stream_sink
vs_record_sink(struct vs_record *r)
{
   return (struct vs_stream_sink){ .send = record_send, .ready = NULL, .data = r };
}

void
vs_record_close(struct vs_record *r)
{
   if (!r)
      return;
   if (r->file)
      fclose(r->file);
   free(r);
}
