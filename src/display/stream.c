/* The encoder thread: takes the newest committed frame (a newer commit
 * replaces an older unencoded one, which goes straight back), waits for
 * the client's work before its commit to finish on the host (the rings
 * marked at the commit, then host fences; memory/shared_registry.h), converts it once into x264's own
 * I420 picture (libyuv: the only pass over the pixels), hands the buffer
 * back, and encodes: Baseline, zerolatency, Annex B, SPS/PPS on every key
 * frame, an IDR whenever a viewer connects or asks. Access units go to the
 * recording file and to the HTTP thread. Without a recording, the encoder
 * encodes only when a viewer has room for it (vs_http_ready): until then
 * newer commits are converted over the waiting picture, so what is encoded
 * is always the newest one, and no client memory waits for a viewer.
 * Nothing here blocks the Wayland thread: it only takes the mailbox lock
 * to swap a pointer. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libyuv.h>

#include "display/display_internal.h"
#include "display/x264_library.h"
#include "os/os.h"
#include "util/log.h"

#define FENCE_TIMEOUT_NS 2000000000ull
#define LAT_SAMPLES 65536

static struct {
   pthread_mutex_t lock;
   pthread_cond_t cond;
   struct vs_frame *pending;          /* newest unencoded frame */
   struct vs_frame *done;             /* back to the Wayland thread */
   struct os_event done_event;
   bool stop;
   bool want_key;
   pthread_t thread;
   unsigned fps;
   FILE *record;
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
} S;

static void
push_done(struct vs_frame *f)
{
   f->next = S.done;
   S.done = f;
   os_event_signal(&S.done_event);
}

void
vs_stream_submit(struct vs_frame *f)
{
   pthread_mutex_lock(&S.lock);
   if (S.pending) {
      S.replaced++;
      push_done(S.pending);
   }
   S.pending = f;
   pthread_cond_signal(&S.cond);
   pthread_mutex_unlock(&S.lock);
}

struct vs_frame *
vs_stream_take_done(void)
{
   pthread_mutex_lock(&S.lock);
   os_event_drain(&S.done_event);
   struct vs_frame *f = S.done;
   S.done = NULL;
   pthread_mutex_unlock(&S.lock);
   return f;
}

int
vs_stream_done_fd(void)
{
   return S.done_event.read_fd;
}

void
vs_stream_request_key(void)
{
   pthread_mutex_lock(&S.lock);
   S.want_key = true;
   pthread_cond_signal(&S.cond);
   pthread_mutex_unlock(&S.lock);
}

void
vs_stream_kick(void)
{
   pthread_mutex_lock(&S.lock);
   pthread_cond_signal(&S.cond);
   pthread_mutex_unlock(&S.lock);
}

void
vs_stream_note_sent(uint64_t commit_ns)
{
   uint64_t now = os_now_ns();
   pthread_mutex_lock(&S.lock);
   if (S.lat)
      S.lat[S.lat_n++ % LAT_SAMPLES] = now - commit_ns;
   pthread_mutex_unlock(&S.lock);
}

static uint64_t
thread_cpu_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
open_encoder(uint32_t w, uint32_t h)
{
   if (S.enc) {
      S.x264->encoder_close(S.enc);
      S.enc = NULL;
   }
   if (S.have_pic) {
      S.x264->picture_clean(&S.pic);
      S.have_pic = false;
   }
   x264_param_t p;
   if (S.x264->param_default_preset(&p, "ultrafast", "zerolatency") < 0)
      return false;
   p.i_width = (int)w;
   p.i_height = (int)h;
   p.i_csp = X264_CSP_I420;
   p.i_fps_num = S.fps;
   p.i_fps_den = 1;
   p.i_keyint_max = (int)S.fps * 2;
   p.b_annexb = 1;
   p.b_repeat_headers = 1;
   p.i_log_level = X264_LOG_ERROR;
   p.rc.i_rc_method = X264_RC_CRF;
   p.rc.f_rf_constant = 23;
   if (S.x264->param_apply_profile(&p, "baseline") < 0)
      return false;
   S.enc = S.x264->encoder_open(&p);
   if (!S.enc || S.x264->picture_alloc(&S.pic, X264_CSP_I420, (int)w, (int)h) < 0) {
      vs_error(0, "display: cannot open the H.264 encoder at %ux%u", w, h);
      return false;
   }
   S.have_pic = true;
   S.w = w;
   S.h = h;
   S.want_key = true;
   vs_info(0, "display: encoding %ux%u H.264 Baseline at %u fps", w, h, S.fps);
   return true;
}

/* The one pass over the pixels: memory in the frame's format -> I420. */
static void
convert(const struct vs_frame *f)
{
   x264_image_t *img = &S.pic.img;
   int w = (int)S.w, h = (int)S.h;
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
encode(bool key, uint64_t commit_ns, double commit_wall_ms)
{
   x264_nal_t *nals;
   int n_nals;
   x264_picture_t out;
   S.pic.i_type = key ? X264_TYPE_IDR : X264_TYPE_AUTO;
   S.pic.i_pts = S.seq++;
   uint64_t t0 = os_now_ns();
   int size = S.x264->encoder_encode(S.enc, &nals, &n_nals, &S.pic, &out);
   uint64_t t1 = os_now_ns();
   S.encode_ns += t1 - t0;
   if (size <= 0)
      return;
   /* zerolatency: one picture in, its access unit out; the NALs are
    * contiguous. */
   const uint8_t *data = nals[0].p_payload;
   S.encoded++;
   S.bytes += (uint64_t)size;
   if (!S.first_ns)
      S.first_ns = t1;
   S.last_ns = t1;
   if (S.record && fwrite(data, 1, (size_t)size, S.record) != (size_t)size) {
      vs_error(0, "display: writing the recording failed: %s; recording stops", strerror(errno));
      fclose(S.record);
      S.record = NULL;
   }
   pthread_mutex_lock(&S.lock);
   S.enc_lat[S.enc_lat_n++ % LAT_SAMPLES] = t1 - commit_ns;
   pthread_mutex_unlock(&S.lock);
   vs_http_send(data, (size_t)size, out.b_keyframe, commit_wall_ms, commit_ns, (uint32_t)out.i_pts, S.w, S.h);
}

static void *
stream_main(void *arg)
{
   os_thread_set_name("vs-encoder");
   uint64_t last_commit_ns = 0;
   double last_wall = 0;
   /* A picture converted and not yet encoded (no viewer had room). */
   bool have_picture = false;
   pthread_mutex_lock(&S.lock);
   while (!S.stop) {
      /* Paced to the viewers: vs_stream_kick wakes us when one has room. */
      bool ready = S.record || vs_http_ready();
      if (S.pending) {
         /* Converted at once even when no viewer has room, so that the
          * guest's memory is never held for a viewer: the newest frame
          * waits in the picture instead. */
         struct vs_frame *f = S.pending;
         S.pending = NULL;
         pthread_mutex_unlock(&S.lock);
         uint64_t c0 = thread_cpu_ns();
         bool ok = true;
         if (f->has_view && !vs_shared_fence_wait(&f->view, FENCE_TIMEOUT_NS)) {
            vs_warn(f->view.ctx_id, "display: the client's work before its commit did not finish in 2 s; frame dropped");
            S.unfenced++;
            ok = false;
         }
         if (ok && f->has_view && f->view.refreshed)
            S.gpu_copies++; /* a linear mirror's detiling copy */
         uint32_t w = f->width & ~1u, h = f->height & ~1u;
         if (ok && w && h && (w != S.w || h != S.h || !S.enc))
            ok = open_encoder(w, h);
         if (ok && w && h) {
            uint64_t t0 = os_now_ns();
            convert(f);
            S.convert_ns += os_now_ns() - t0;
            S.conversions++;
            S.copies += f->copies;
            have_picture = true;
            last_commit_ns = f->commit_ns;
            last_wall = f->commit_wall_ms;
         }
         /* The pixels are in the picture: the memory can go back now. */
         if (f->has_view) {
            vs_shared_release(&f->view);
            f->has_view = false;
         }
         S.cpu_ns += thread_cpu_ns() - c0;
         /* The frame belongs to the Wayland thread again once pushed. */
         pthread_mutex_lock(&S.lock);
         push_done(f);
         continue;
      }
      if (ready && S.enc && (have_picture || S.want_key)) {
         /* A key frame wanted and nothing new: the last picture again, as
          * of now. */
         bool key = S.want_key;
         uint64_t commit_ns = have_picture ? last_commit_ns : os_now_ns();
         S.want_key = false;
         have_picture = false;
         pthread_mutex_unlock(&S.lock);
         uint64_t c0 = thread_cpu_ns();
         encode(key, commit_ns, last_wall);
         S.cpu_ns += thread_cpu_ns() - c0;
         pthread_mutex_lock(&S.lock);
         continue;
      }
      os_cond_timedwait_ns(&S.cond, &S.lock, 100000000ull);
   }
   pthread_mutex_unlock(&S.lock);
   return NULL;
}

bool
vs_stream_start(const struct vs_x264 *x264, const char *record_path, unsigned fps)
{
   memset(&S, 0, sizeof(S));
   S.x264 = x264;
   S.fps = fps;
   pthread_mutex_init(&S.lock, NULL);
   os_cond_init(&S.cond);
   S.lat = calloc(LAT_SAMPLES, sizeof(uint64_t));
   S.enc_lat = calloc(LAT_SAMPLES, sizeof(uint64_t));
   if (!S.lat || !S.enc_lat || os_event_init(&S.done_event) != 0) {
      vs_error(0, "display: out of memory");
      return false;
   }
   if (record_path) {
      S.record = fopen(record_path, "wb");
      if (!S.record) {
         vs_error(0, "display: cannot open %s for the recording: %s", record_path, strerror(errno));
         return false;
      }
   }
   if (pthread_create(&S.thread, NULL, stream_main, NULL) != 0) {
      vs_error(0, "display: cannot start the encoder thread");
      return false;
   }
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
vs_stream_stop(void)
{
   if (!S.lat)
      return;
   pthread_mutex_lock(&S.lock);
   S.stop = true;
   pthread_cond_signal(&S.cond);
   pthread_mutex_unlock(&S.lock);
   pthread_join(S.thread, NULL);
   if (S.pending) {
      push_done(S.pending);
      S.pending = NULL;
   }
   if (S.enc) {
      S.x264->encoder_close(S.enc);
      S.enc = NULL;
   }
   if (S.have_pic)
      S.x264->picture_clean(&S.pic);
   if (S.record)
      fclose(S.record);
   double secs = S.last_ns > S.first_ns ? (double)(S.last_ns - S.first_ns) / 1e9 : 0;
   double sent_med, sent_p99, enc_med, enc_p99;
   percentiles(S.lat, S.lat_n, &sent_med, &sent_p99);
   percentiles(S.enc_lat, S.enc_lat_n, &enc_med, &enc_p99);
   double n = S.encoded ? (double)S.encoded : 1;
   /* One line the benchmark reads. */
   vs_info(0, "display stream: %llu encoded (%.1f fps), %llu replaced before encoding, %llu dropped unfenced; "
              "convert %.2f ms, encode %.2f ms, cpu %.2f ms per frame; copies per frame %.2f (+1 conversion), GPU copies per frame %.2f; "
              "commit->encoded median %.2f ms p99 %.2f ms; commit->sent median %.2f ms p99 %.2f ms (%u sent); "
              "%.1f KiB per frame",
           (unsigned long long)S.encoded, secs > 0 ? (double)(S.encoded - 1) / secs : 0.0,
           (unsigned long long)S.replaced, (unsigned long long)S.unfenced,
           S.conversions ? (double)S.convert_ns / 1e6 / (double)S.conversions : 0.0, (double)S.encode_ns / 1e6 / n,
           (double)S.cpu_ns / 1e6 / n, S.conversions ? (double)S.copies / (double)S.conversions : 0.0,
           S.conversions ? (double)S.gpu_copies / (double)S.conversions : 0.0, enc_med,
           enc_p99, sent_med, sent_p99, S.lat_n, (double)S.bytes / 1024.0 / n);
   free(S.lat);
   free(S.enc_lat);
   S.lat = S.enc_lat = NULL;
   /* done_event stays: the Wayland thread drains the last frames. */
}
