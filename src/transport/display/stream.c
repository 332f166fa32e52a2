/* SPDX-License-Identifier: MIT */
/* The encoder thread: takes the newest committed frame (a newer commit
 * replaces an older unencoded one, which goes straight back), waits for
 * the client's work before its commit to finish on the host (the rings
 * marked at the commit, then host fences; renderer/memory/shared_registry.h), converts it once into x264's own
 * I420 picture (libyuv: the only pass over the pixels), hands the buffer
 * back, and encodes: Baseline, zerolatency, Annex B, SPS/PPS on every key
 * frame, an IDR whenever a viewer connects or asks. Access units go to the
 * stream's sinks (the recording file, the HTTP viewers). The encoder
 * encodes only when a sink has room for it (the recording always has):
 * until then
 * newer commits are converted over the waiting picture, so what is encoded
 * is always the newest one, and no client memory waits for a viewer.
 * Nothing here blocks the Wayland thread: it only takes the mailbox lock
 * to swap a pointer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <libyuv.h>

#include "transport/display/display_internal.h"
#include "transport/display/x264_library.h"
#include "os/os.h"
#include "base/log.h"

#define FENCE_TIMEOUT_NS 2000000000ull
#define LAT_SAMPLES 65536

struct vs_stream {
   char output[VS_OUTPUT_NAME_MAX + 1]; /* its output's name, for the log */
   pthread_mutex_t lock;
   pthread_cond_t cond;
   struct vs_frame *pending;          /* newest unencoded frame */
   struct vs_frame *done;             /* back to the Wayland thread */
   struct os_event done_event;
   bool stop;
   bool want_key;
   bool running;                      /* the thread was started */
   pthread_t thread;
   unsigned fps;
   struct vs_stream_sink sinks[VS_STREAM_MAX_SINKS];
   uint32_t sink_count;
   const struct vs_x264 *x264;
   x264_t *enc;
   x264_picture_t pic;
   bool have_pic;
   uint32_t w, h;
   uint32_t seq;
   /* figures (encoder thread, except replaced and the latencies) */
   uint64_t encoded, replaced, unfenced, bytes, copies, gpu_copies, conversions;
   uint64_t convert_ns, encode_ns, cpu_ns;
   uint64_t first_ns, last_ns;
   uint64_t *lat;                     /* commit -> sent (ns), ring */
   uint32_t lat_n;
   uint64_t *enc_lat;                 /* commit -> encoded (ns) */
   uint32_t enc_lat_n;
};

static void
push_done(struct vs_stream *s, struct vs_frame *f)
{
   f->next = s->done;
   s->done = f;
   os_event_signal(&s->done_event);
}

void
vs_stream_submit(struct vs_stream *s, struct vs_frame *f)
{
   pthread_mutex_lock(&s->lock);
   if (s->pending) {
      s->replaced++;
      push_done(s, s->pending);
   }
   s->pending = f;
   pthread_cond_signal(&s->cond);
   pthread_mutex_unlock(&s->lock);
}

struct vs_frame *
vs_stream_take_done(struct vs_stream *s)
{
   pthread_mutex_lock(&s->lock);
   os_event_drain(&s->done_event);
   struct vs_frame *f = s->done;
   s->done = NULL;
   pthread_mutex_unlock(&s->lock);
   return f;
}

int
vs_stream_done_fd(const struct vs_stream *s)
{
   return s->done_event.read_fd;
}

void
vs_stream_request_key(struct vs_stream *s)
{
   pthread_mutex_lock(&s->lock);
   s->want_key = true;
   pthread_cond_signal(&s->cond);
   pthread_mutex_unlock(&s->lock);
}

void
vs_stream_kick(struct vs_stream *s)
{
   pthread_mutex_lock(&s->lock);
   pthread_cond_signal(&s->cond);
   pthread_mutex_unlock(&s->lock);
}

void
vs_stream_note_sent(struct vs_stream *s, uint64_t commit_ns)
{
   uint64_t now = os_now_ns();
   pthread_mutex_lock(&s->lock);
   if (s->lat)
      s->lat[s->lat_n++ % LAT_SAMPLES] = now - commit_ns;
   pthread_mutex_unlock(&s->lock);
}

static uint64_t
thread_cpu_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
open_encoder(struct vs_stream *s, uint32_t w, uint32_t h)
{
   if (s->enc) {
      s->x264->encoder_close(s->enc);
      s->enc = NULL;
   }
   if (s->have_pic) {
      s->x264->picture_clean(&s->pic);
      s->have_pic = false;
   }
   x264_param_t p;
   if (s->x264->param_default_preset(&p, "ultrafast", "zerolatency") < 0)
      return false;
   p.i_width = (int)w;
   p.i_height = (int)h;
   p.i_csp = X264_CSP_I420;
   p.i_fps_num = s->fps;
   p.i_fps_den = 1;
   /* No periodic key frames: a wave of intra blocks crosses the picture
    * every 2 s instead, so that no frame is several times the size of the
    * others (a periodic IDR is what sets a stream's latency tail). Key
    * frames come at the start and whenever a viewer asks for one. */
   p.i_keyint_max = (int)s->fps * 2;
   p.b_intra_refresh = 1;
   p.b_annexb = 1;
   p.b_repeat_headers = 1;
   p.i_log_level = X264_LOG_ERROR;
   p.rc.i_rc_method = X264_RC_CRF;
   p.rc.f_rf_constant = 23;
   if (s->x264->param_apply_profile(&p, "baseline") < 0)
      return false;
   s->enc = s->x264->encoder_open(&p);
   if (!s->enc || s->x264->picture_alloc(&s->pic, X264_CSP_I420, (int)w, (int)h) < 0) {
      vs_error(0, "display: cannot open the H.264 encoder at %ux%u", w, h);
      return false;
   }
   s->have_pic = true;
   s->w = w;
   s->h = h;
   s->want_key = true;
   vs_info(0, "display: output %s: encoding %ux%u H.264 Baseline at %u fps", s->output, w, h, s->fps);
   return true;
}

/* The one pass over the pixels: memory in the frame's format -> I420. */
static void
convert(struct vs_stream *s, const struct vs_frame *f)
{
   x264_image_t *img = &s->pic.img;
   int w = (int)s->w, h = (int)s->h;
   /* DRM XRGB8888 is B,G,R,X in memory: libyuv's "ARGB"; XBGR8888 is
    * R,G,B,X: libyuv's "ABGR". */
   if (f->fourcc == VS_FMT_XBGR8888 || f->fourcc == VS_FMT_ABGR8888)
      ABGRToI420(f->pixels, (int)f->stride, img->plane[0], img->i_stride[0], img->plane[1], img->i_stride[1],
                 img->plane[2], img->i_stride[2], w, h);
   else
      ARGBToI420(f->pixels, (int)f->stride, img->plane[0], img->i_stride[0], img->plane[1], img->i_stride[1],
                 img->plane[2], img->i_stride[2], w, h);
}

static void
encode(struct vs_stream *s, bool key, uint64_t commit_ns, double commit_wall_ms)
{
   x264_nal_t *nals;
   int n_nals;
   x264_picture_t out;
   s->pic.i_type = key ? X264_TYPE_IDR : X264_TYPE_AUTO;
   s->pic.i_pts = s->seq++;
   uint64_t t0 = os_now_ns();
   int size = s->x264->encoder_encode(s->enc, &nals, &n_nals, &s->pic, &out);
   uint64_t t1 = os_now_ns();
   s->encode_ns += t1 - t0;
   if (size <= 0)
      return;
   /* zerolatency: one picture in, its access unit out; the NALs are
    * contiguous. */
   const uint8_t *data = nals[0].p_payload;
   s->encoded++;
   s->bytes += (uint64_t)size;
   if (!s->first_ns)
      s->first_ns = t1;
   s->last_ns = t1;
   pthread_mutex_lock(&s->lock);
   s->enc_lat[s->enc_lat_n++ % LAT_SAMPLES] = t1 - commit_ns;
   pthread_mutex_unlock(&s->lock);
   /* A key frame is an IDR: a decoder can start there (an intra refresh's
    * first frame, which x264 also calls a key frame, is no such place for
    * WebCodecs). */
   const struct vs_access_unit unit = {
      .data = data, .size = (size_t)size, .key = out.i_type == X264_TYPE_IDR, .seq = (uint32_t)out.i_pts,
      .width = s->w, .height = s->h, .commit_ns = commit_ns, .commit_wall_ms = commit_wall_ms,
   };
   for (uint32_t i = 0; i < s->sink_count; i++)
      s->sinks[i].send(s->sinks[i].data, &unit);
}

/* Whether some sink has room for an access unit (with none, encoding goes
 * on: the figures still count). */
static bool
sinks_ready(const struct vs_stream *s)
{
   for (uint32_t i = 0; i < s->sink_count; i++)
      if (!s->sinks[i].ready || s->sinks[i].ready(s->sinks[i].data))
         return true;
   return s->sink_count == 0;
}

static void *
stream_main(void *arg)
{
   struct vs_stream *s = arg;
   os_thread_set_name("vs-encoder");
   uint64_t last_commit_ns = 0;
   double last_wall = 0;
   /* A picture converted and not yet encoded (no viewer had room). */
   bool have_picture = false;
   pthread_mutex_lock(&s->lock);
   while (!s->stop) {
      /* Paced to the viewers: vs_stream_kick wakes us when one has room. */
      bool ready = sinks_ready(s);
      if (s->pending) {
         /* Converted at once even when no viewer has room, so that the
          * guest's memory is never held for a viewer: the newest frame
          * waits in the picture instead. */
         struct vs_frame *f = s->pending;
         s->pending = NULL;
         pthread_mutex_unlock(&s->lock);
         uint64_t c0 = thread_cpu_ns();
         bool ok = true;
         if (f->has_view && !vs_shared_fence_wait(&f->view, FENCE_TIMEOUT_NS)) {
            vs_warn(f->view.ctx_id, "display: the client's work before its commit did not finish in 2 s, or its context was "
                    "being restored; frame dropped");
            s->unfenced++;
            ok = false;
         }
         if (ok && f->has_view && f->view.refreshed)
            s->gpu_copies++; /* a linear mirror's detiling copy */
         uint32_t w = f->width & ~1u, h = f->height & ~1u;
         if (ok && w && h && (w != s->w || h != s->h || !s->enc))
            ok = open_encoder(s, w, h);
         if (ok && w && h) {
            uint64_t t0 = os_now_ns();
            convert(s, f);
            s->convert_ns += os_now_ns() - t0;
            s->conversions++;
            s->copies += f->copies;
            have_picture = true;
            last_commit_ns = f->commit_ns;
            last_wall = f->commit_wall_ms;
         }
         /* The pixels are in the picture: the memory can go back now. */
         if (f->has_view) {
            vs_shared_release(&f->view);
            f->has_view = false;
         }
         s->cpu_ns += thread_cpu_ns() - c0;
         /* The frame belongs to the Wayland thread again once pushed. */
         pthread_mutex_lock(&s->lock);
         push_done(s, f);
         continue;
      }
      if (ready && s->enc && (have_picture || s->want_key)) {
         /* A key frame wanted and nothing new: the last picture again, as
          * of now. */
         bool key = s->want_key;
         uint64_t commit_ns = have_picture ? last_commit_ns : os_now_ns();
         s->want_key = false;
         have_picture = false;
         pthread_mutex_unlock(&s->lock);
         uint64_t c0 = thread_cpu_ns();
         encode(s, key, commit_ns, last_wall);
         s->cpu_ns += thread_cpu_ns() - c0;
         pthread_mutex_lock(&s->lock);
         continue;
      }
      os_cond_timedwait_ns(&s->cond, &s->lock, 100000000ull);
   }
   pthread_mutex_unlock(&s->lock);
   return NULL;
}

struct vs_stream *
vs_stream_create(const struct vs_x264 *x264, unsigned fps, const char *output)
{
   struct vs_stream *s = calloc(1, sizeof(*s));
   if (!s)
      return NULL;
   snprintf(s->output, sizeof(s->output), "%s", output);
   s->x264 = x264;
   s->fps = fps;
   s->done_event = (struct os_event){ -1, -1 };
   pthread_mutex_init(&s->lock, NULL);
   os_cond_init(&s->cond);
   s->lat = calloc(LAT_SAMPLES, sizeof(uint64_t));
   s->enc_lat = calloc(LAT_SAMPLES, sizeof(uint64_t));
   if (!s->lat || !s->enc_lat || os_event_init(&s->done_event) != 0) {
      vs_error(0, "display: out of memory");
      vs_stream_destroy(s);
      return NULL;
   }
   return s;
}

bool
vs_stream_add_sink(struct vs_stream *s, const struct vs_stream_sink *sink)
{
   if (s->running || s->sink_count == VS_STREAM_MAX_SINKS)
      return false;
   s->sinks[s->sink_count++] = *sink;
   return true;
}

bool
vs_stream_run(struct vs_stream *s)
{
   if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
      vs_error(0, "display: cannot start the encoder thread");
      return false;
   }
   s->running = true;
   return true;
}

static int
cmp_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return x < y ? -1 : x > y;
}

static void
percentiles(uint64_t *v, uint32_t n, double *median_ms, double *p99_ms)
{
   if (n > LAT_SAMPLES)
      n = LAT_SAMPLES;
   *median_ms = *p99_ms = 0;
   if (!n)
      return;
   qsort(v, n, sizeof(*v), cmp_u64);
   *median_ms = (double)v[n / 2] / 1e6;
   *p99_ms = (double)v[(uint64_t)n * 99 / 100] / 1e6;
}

void
vs_stream_stop(struct vs_stream *s)
{
   if (!s->running)
      return;
   s->running = false;
   pthread_mutex_lock(&s->lock);
   s->stop = true;
   pthread_cond_signal(&s->cond);
   pthread_mutex_unlock(&s->lock);
   pthread_join(s->thread, NULL);
   if (s->pending) {
      push_done(s, s->pending);
      s->pending = NULL;
   }
   if (s->enc) {
      s->x264->encoder_close(s->enc);
      s->enc = NULL;
   }
   if (s->have_pic)
      s->x264->picture_clean(&s->pic);
   s->have_pic = false;
   double secs = s->last_ns > s->first_ns ? (double)(s->last_ns - s->first_ns) / 1e9 : 0;
   double sent_med, sent_p99, enc_med, enc_p99;
   percentiles(s->lat, s->lat_n, &sent_med, &sent_p99);
   percentiles(s->enc_lat, s->enc_lat_n, &enc_med, &enc_p99);
   double n = s->encoded ? (double)s->encoded : 1;
   /* One line the benchmark reads. */
   vs_info(0, "display stream: %llu encoded (%.1f fps), %llu replaced before encoding, %llu dropped unfenced; "
              "convert %.2f ms, encode %.2f ms, cpu %.2f ms per frame; copies per frame %.2f (+1 conversion), GPU copies per frame %.2f; "
              "commit->encoded median %.2f ms p99 %.2f ms; commit->sent median %.2f ms p99 %.2f ms (%u sent); "
              "%.1f KiB per frame; output %s",
           (unsigned long long)s->encoded, secs > 0 ? (double)(s->encoded - 1) / secs : 0.0,
           (unsigned long long)s->replaced, (unsigned long long)s->unfenced,
           s->conversions ? (double)s->convert_ns / 1e6 / (double)s->conversions : 0.0, (double)s->encode_ns / 1e6 / n,
           (double)s->cpu_ns / 1e6 / n, s->conversions ? (double)s->copies / (double)s->conversions : 0.0,
           s->conversions ? (double)s->gpu_copies / (double)s->conversions : 0.0, enc_med,
           enc_p99, sent_med, sent_p99, s->lat_n, (double)s->bytes / 1024.0 / n, s->output);
   pthread_mutex_lock(&s->lock);
   free(s->lat);
   free(s->enc_lat);
   s->lat = s->enc_lat = NULL;
   pthread_mutex_unlock(&s->lock);
   /* done_event stays: the Wayland thread drains the last frames. */
}

void
vs_stream_destroy(struct vs_stream *s)
{
   if (!s)
      return;
   vs_stream_stop(s);
   free(s->lat);
   free(s->enc_lat);
   if (s->done_event.read_fd >= 0)
      os_event_fini(&s->done_event);
   pthread_cond_destroy(&s->cond);
   pthread_mutex_destroy(&s->lock);
   free(s);
}
