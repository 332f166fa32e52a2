/* SPDX-License-Identifier: MIT */
/* A KMS client in the test guest (tests/test_vhost_user_qemu.sh): takes
 * the virtio-gpu's only CRTC at its connector's preferred mode and flips
 * numbered frames on it, first from dumb buffers the CPU draws (the
 * kernel's 2D path: RESOURCE_CREATE_2D, TRANSFER_TO_HOST_2D,
 * SET_SCANOUT, RESOURCE_FLUSH), then from Vulkan memory Mesa's Venus
 * driver renders into, exported as a dma-buf and added as a framebuffer
 * (the host blob path: SET_SCANOUT_BLOB of a HOST3D blob). Each Venus
 * frame is heavy GPU work whose last step writes the frame's number, and
 * is flipped only once its fence has signalled: a host that read the
 * blob early would show the previous number (stale) or a mix (torn).
 * After each flip it waits until the device has taken it (a fenced empty
 * submission of its own Venus context), before drawing into a buffer
 * again.
 *
 * The picture and the heavy work are wl_frames' (frame_work.h);
 * check_stream.py reads the number back from the display's recording. The frames never leave the process's one master
 * session: fbcon's console shows only before and after.
 *
 *   kms_frames FRAMES      (dumb frames 1..FRAMES, Venus frames FRAMES+1..2*FRAMES)
 *   kms_frames --venus FRAMES   (Venus frames 1..FRAMES only)
 *   kms_frames --for SECONDS    (Venus frames from 1 for SECONDS)
 *   kms_frames --live SECONDS
 *      Venus frames numbered from 1 until Escape is pressed on an input
 *      device (/dev/input/event*: the viewer's keys through the VM's
 *      virtio-input device) or SECONDS pass; exit 0 only on Escape.
 *      Sets a cursor once the first frame is shown (kms_cursor).
 *
 * The uapi layouts are spelled out (the guest build has no libdrm). */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "frame_work.h"

/* Buffers flipped in turn. */
#define BUFFERS 3
#define HEAVY_BYTES (16u << 20)
#define HEAVY_ROUNDS 4

struct kms_modeinfo {
   uint32_t clock;
   uint16_t hdisplay, hsync_start, hsync_end, htotal, hskew;
   uint16_t vdisplay, vsync_start, vsync_end, vtotal, vscan;
   uint32_t vrefresh, flags, type;
   char name[32];
};
struct kms_card_res {
   uint64_t fb_id_ptr, crtc_id_ptr, connector_id_ptr, encoder_id_ptr;
   uint32_t count_fbs, count_crtcs, count_connectors, count_encoders;
   uint32_t min_width, max_width, min_height, max_height;
};
struct kms_get_connector {
   uint64_t encoders_ptr, modes_ptr, props_ptr, prop_values_ptr;
   uint32_t count_modes, count_props, count_encoders;
   uint32_t encoder_id, connector_id, connector_type, connector_type_id;
   uint32_t connection, mm_width, mm_height, subpixel, pad;
};
struct kms_crtc {
   uint64_t set_connectors_ptr;
   uint32_t count_connectors, crtc_id, fb_id, x, y, gamma_size, mode_valid;
   struct kms_modeinfo mode;
};
struct kms_fb_cmd {
   uint32_t fb_id, width, height, pitch, bpp, depth, handle;
};
struct kms_page_flip {
   uint32_t crtc_id, fb_id, flags, reserved;
   uint64_t user_data;
};
struct kms_create_dumb {
   uint32_t height, width, bpp, flags, handle, pitch;
   uint64_t size;
};
struct kms_map_dumb {
   uint32_t handle, pad;
   uint64_t offset;
};
struct kms_prime_handle {
   uint32_t handle, flags;
   int32_t fd;
};
struct kms_event {
   uint32_t type, length;
};
#define KMS_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct kms_prime_handle)
#define KMS_IOCTL_MODE_GETRESOURCES _IOWR('d', 0xa0, struct kms_card_res)
#define KMS_IOCTL_MODE_SETCRTC _IOWR('d', 0xa2, struct kms_crtc)
#define KMS_IOCTL_MODE_GETCONNECTOR _IOWR('d', 0xa7, struct kms_get_connector)
#define KMS_IOCTL_MODE_ADDFB _IOWR('d', 0xae, struct kms_fb_cmd)
#define KMS_IOCTL_MODE_PAGE_FLIP _IOWR('d', 0xb0, struct kms_page_flip)
struct kms_cursor2 {
   uint32_t flags, crtc_id;
   int32_t x, y;
   uint32_t width, height, handle;
   int32_t hot_x, hot_y;
};
#define KMS_CURSOR_BO 0x01
#define KMS_IOCTL_MODE_CURSOR2 _IOWR('d', 0xbb, struct kms_cursor2)
#define KMS_IOCTL_MODE_CREATE_DUMB _IOWR('d', 0xb2, struct kms_create_dumb)
#define KMS_IOCTL_MODE_MAP_DUMB _IOWR('d', 0xb3, struct kms_map_dumb)
struct kms_virtgpu_context_param {
   uint64_t param, value;
};
struct kms_virtgpu_context_init {
   uint32_t num_params, pad;
   uint64_t ctx_set_params;
};
struct kms_virtgpu_execbuffer {
   uint32_t flags, size;
   uint64_t command, bo_handles;
   uint32_t num_bo_handles;
   int32_t fence_fd;
   uint32_t ring_idx, syncobj_stride, num_in_syncobjs, num_out_syncobjs;
   uint64_t in_syncobjs, out_syncobjs;
};
/* DRM_COMMAND_BASE 0x40 + DRM_VIRTGPU_EXECBUFFER 0x02, CONTEXT_INIT 0x0b */
#define KMS_IOCTL_VIRTGPU_EXECBUFFER _IOWR('d', 0x42, struct kms_virtgpu_execbuffer)
#define KMS_IOCTL_VIRTGPU_CONTEXT_INIT _IOWR('d', 0x4b, struct kms_virtgpu_context_init)
#define KMS_VIRTGPU_PARAM_CAPSET_ID 1
#define KMS_VIRTGPU_PARAM_NUM_RINGS 2
#define KMS_VIRTGPU_CAPSET_VENUS 4
#define KMS_EXECBUF_FENCE_FD_OUT 0x02
#define KMS_EXECBUF_RING_IDX 0x04
#define KMS_PAGE_FLIP_EVENT 0x01
#define KMS_EVENT_FLIP_COMPLETE 0x02
#define KMS_CONNECTED 1

static void
die(const char *what)
{
   fprintf(stderr, "kms_frames: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
   exit(1);
}

#define VK_CHECK(call)                                                                                    \
   do {                                                                                                   \
      VkResult r_ = (call);                                                                               \
      if (r_ != VK_SUCCESS) {                                                                             \
         fprintf(stderr, "kms_frames: %s failed: %d (line %d)\n", #call, r_, __LINE__);                   \
         exit(1);                                                                                         \
      }                                                                                                   \
   } while (0)

static int
xioctl(int fd, unsigned long request, void *arg)
{
   int r;
   do
      r = ioctl(fd, request, arg);
   while (r < 0 && (errno == EINTR || errno == EAGAIN));
   return r;
}

struct kms {
   int fd;
   int render_fd; /* a Venus context of our own, for fences on the control queue */
   uint32_t crtc, connector;
   struct kms_modeinfo mode;
   uint32_t width, height;
   bool set; /* the CRTC shows one of our framebuffers */
   bool cursor; /* a cursor once the CRTC is set (kms_cursor) */
};

/* The first connected connector, its preferred mode and a CRTC. */
static void
kms_open(struct kms *k)
{
   k->fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
   if (k->fd < 0)
      die("open /dev/dri/card0");
   uint32_t crtcs[8], connectors[8];
   struct kms_card_res res = { 0 };
   if (xioctl(k->fd, KMS_IOCTL_MODE_GETRESOURCES, &res) < 0)
      die("GETRESOURCES");
   if (res.count_crtcs == 0 || res.count_crtcs > 8 || res.count_connectors == 0 || res.count_connectors > 8)
      die("not one to eight CRTCs and connectors");
   res = (struct kms_card_res){ .crtc_id_ptr = (uintptr_t)crtcs, .connector_id_ptr = (uintptr_t)connectors,
                                .count_crtcs = res.count_crtcs, .count_connectors = res.count_connectors };
   if (xioctl(k->fd, KMS_IOCTL_MODE_GETRESOURCES, &res) < 0)
      die("GETRESOURCES");
   for (uint32_t i = 0; i < res.count_connectors; i++) {
      struct kms_get_connector c = { .connector_id = connectors[i] };
      if (xioctl(k->fd, KMS_IOCTL_MODE_GETCONNECTOR, &c) < 0)
         die("GETCONNECTOR");
      if (c.connection != KMS_CONNECTED || c.count_modes == 0)
         continue;
      struct kms_modeinfo *modes = calloc(c.count_modes, sizeof(*modes));
      if (!modes)
         die("out of memory");
      c = (struct kms_get_connector){ .connector_id = connectors[i], .modes_ptr = (uintptr_t)modes,
                                      .count_modes = c.count_modes };
      if (xioctl(k->fd, KMS_IOCTL_MODE_GETCONNECTOR, &c) < 0)
         die("GETCONNECTOR");
      k->mode = modes[0];
      for (uint32_t m = 0; m < c.count_modes; m++)
         if (modes[m].type & 0x8) /* DRM_MODE_TYPE_PREFERRED */
            k->mode = modes[m];
      free(modes);
      k->connector = connectors[i];
      k->crtc = crtcs[0];
      k->width = k->mode.hdisplay;
      k->height = k->mode.vdisplay;
      k->render_fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
      if (k->render_fd < 0)
         die("open /dev/dri/renderD128");
      const struct kms_virtgpu_context_param params[] = {
         { KMS_VIRTGPU_PARAM_CAPSET_ID, KMS_VIRTGPU_CAPSET_VENUS },
         { KMS_VIRTGPU_PARAM_NUM_RINGS, 1 },
      };
      struct kms_virtgpu_context_init init = { .num_params = 2, .ctx_set_params = (uintptr_t)params };
      if (xioctl(k->render_fd, KMS_IOCTL_VIRTGPU_CONTEXT_INIT, &init) < 0)
         die("CONTEXT_INIT of a Venus context");
      return;
   }
   die("no connected connector");
}

static uint32_t
kms_add_fb(struct kms *k, uint32_t handle, uint32_t pitch)
{
   struct kms_fb_cmd fb = { .width = k->width, .height = k->height, .pitch = pitch, .bpp = 32, .depth = 24,
                            .handle = handle };
   if (xioctl(k->fd, KMS_IOCTL_MODE_ADDFB, &fb) < 0)
      die("ADDFB");
   return fb.fb_id;
}

/* Shows `fb`: a mode set the first time, then a page flip whose
 * completion event is waited for. */
/* A 64x64 cursor of one colour (B G R A 0xa0 0x50 0x30 0xff), hotspot
 * 3,4: what the device's cursor queue hands to the display. Said on
 * stdout; a refusal is said and not fatal. */
static void
kms_cursor(struct kms *k)
{
   struct kms_create_dumb cd = { .height = 64, .width = 64, .bpp = 32 };
   struct kms_map_dumb md = { 0 };
   uint8_t *map = MAP_FAILED;
   if (xioctl(k->fd, KMS_IOCTL_MODE_CREATE_DUMB, &cd) == 0) {
      md.handle = cd.handle;
      if (xioctl(k->fd, KMS_IOCTL_MODE_MAP_DUMB, &md) == 0)
         map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, (off_t)md.offset);
   }
   if (map == MAP_FAILED) {
      printf("kms_frames: no cursor buffer: %s\n", strerror(errno));
      return;
   }
   for (uint32_t y = 0; y < 64; y++)
      for (uint32_t x = 0; x < 64; x++)
         memcpy(map + (size_t)y * cd.pitch + x * 4, "\xa0\x50\x30\xff", 4);
   munmap(map, cd.size);
   struct kms_cursor2 c = { .flags = KMS_CURSOR_BO, .crtc_id = k->crtc, .width = 64, .height = 64,
                            .handle = cd.handle, .hot_x = 3, .hot_y = 4 };
   if (xioctl(k->fd, KMS_IOCTL_MODE_CURSOR2, &c) < 0)
      printf("kms_frames: the cursor was refused: %s\n", strerror(errno));
   else
      printf("kms_frames: cursor set (64x64, hotspot 3,4)\n");
   fflush(stdout);
}

static void
kms_show(struct kms *k, uint32_t fb)
{
   if (!k->set) {
      struct kms_crtc c = { .set_connectors_ptr = (uintptr_t)&k->connector, .count_connectors = 1,
                            .crtc_id = k->crtc, .fb_id = fb, .mode_valid = 1, .mode = k->mode };
      if (xioctl(k->fd, KMS_IOCTL_MODE_SETCRTC, &c) < 0)
         die("SETCRTC");
      k->set = true;
      if (k->cursor)
         kms_cursor(k);
      return;
   }
   struct kms_page_flip flip = { .crtc_id = k->crtc, .fb_id = fb, .flags = KMS_PAGE_FLIP_EVENT };
   if (xioctl(k->fd, KMS_IOCTL_MODE_PAGE_FLIP, &flip) < 0)
      die("PAGE_FLIP");
   for (;;) {
      struct pollfd p = { .fd = k->fd, .events = POLLIN };
      if (poll(&p, 1, 10000) <= 0)
         die("no page flip event in 10 s");
      uint8_t buf[256];
      ssize_t n = read(k->fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
         continue;
      if (n < (ssize_t)sizeof(struct kms_event))
         die("reading the DRM events");
      for (ssize_t at = 0; at + (ssize_t)sizeof(struct kms_event) <= n;) {
         struct kms_event e;
         memcpy(&e, buf + at, sizeof(e));
         if (e.type == KMS_EVENT_FLIP_COMPLETE)
            return;
         if (e.length < sizeof(e))
            die("a malformed DRM event");
         at += e.length;
      }
   }
}

/* Waits until the device has answered everything queued on its control
 * queue so far, a flip's transfer and flush among them: an empty,
 * fenced submission in our context is answered after them. The guest
 * kernel fences neither flip (a 2D resource's transfer and flush, a host
 * blob's flush), so without this a client could draw into a buffer the
 * device has yet to read. */
static void
kms_wait_device(struct kms *k)
{
   struct kms_virtgpu_execbuffer eb = { .flags = KMS_EXECBUF_FENCE_FD_OUT | KMS_EXECBUF_RING_IDX, .fence_fd = -1 };
   if (xioctl(k->render_fd, KMS_IOCTL_VIRTGPU_EXECBUFFER, &eb) < 0)
      die("EXECBUFFER of an empty fenced submission");
   struct pollfd p = { .fd = eb.fence_fd, .events = POLLIN };
   int r;
   do
      r = poll(&p, 1, 10000);
   while (r < 0 && errno == EINTR);
   if (r <= 0)
      die("the device did not answer a fenced submission in 10 s");
   close(eb.fence_fd);
}

static void
dumb_frames(struct kms *k, uint32_t first, uint32_t frames)
{
   struct {
      uint32_t fb;
      uint8_t *map;
      uint32_t pitch;
   } buf[BUFFERS];
   for (int i = 0; i < BUFFERS; i++) {
      struct kms_create_dumb cd = { .height = k->height, .width = k->width, .bpp = 32 };
      if (xioctl(k->fd, KMS_IOCTL_MODE_CREATE_DUMB, &cd) < 0)
         die("CREATE_DUMB");
      struct kms_map_dumb md = { .handle = cd.handle };
      if (xioctl(k->fd, KMS_IOCTL_MODE_MAP_DUMB, &md) < 0)
         die("MAP_DUMB");
      buf[i].map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, (off_t)md.offset);
      if (buf[i].map == MAP_FAILED)
         die("mmap of a dumb buffer");
      buf[i].pitch = cd.pitch;
      buf[i].fb = kms_add_fb(k, cd.handle, cd.pitch);
   }
   uint32_t *row = malloc((size_t)k->width * 4);
   if (!row)
      die("out of memory");
   for (uint32_t n = first; n < first + frames; n++) {
      const int i = (int)(n % BUFFERS);
      frame_work_row(row, k->width, n);
      for (uint32_t y = 0; y < k->height; y++)
         memcpy(buf[i].map + (size_t)y * buf[i].pitch, row, (size_t)k->width * 4);
      kms_show(k, buf[i].fb);
      kms_wait_device(k);
   }
   free(row);
   printf("kms_frames: %u dumb frames %ux%u (%u..%u)\n", frames, k->width, k->height, first, first + frames - 1);
}

/* evdev's struct input_event on a 64-bit guest. */
struct kms_input_event {
   int64_t sec, usec;
   uint16_t type, code;
   int32_t value;
};
#define KMS_EV_KEY 1
#define KMS_KEY_ESC 1
#define KMS_MAX_INPUTS 8

struct inputs {
   int fd[KMS_MAX_INPUTS];
   unsigned count;
};

static void
inputs_open(struct inputs *in)
{
   in->count = 0;
   DIR *d = opendir("/dev/input");
   for (struct dirent *e; d && (e = readdir(d)) && in->count < KMS_MAX_INPUTS;) {
      if (strncmp(e->d_name, "event", 5) != 0)
         continue;
      char path[300];
      snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
      const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0)
         in->fd[in->count++] = fd;
   }
   if (d)
      closedir(d);
}

/* Whether Escape was pressed since the last call. */
static bool
inputs_escape(const struct inputs *in)
{
   bool escape = false;
   for (unsigned i = 0; i < in->count; i++) {
      struct kms_input_event ev[16];
      ssize_t n;
      while ((n = read(in->fd[i], ev, sizeof(ev))) > 0)
         for (size_t k = 0; k < (size_t)n / sizeof(ev[0]); k++)
            escape |= ev[k].type == KMS_EV_KEY && ev[k].code == KMS_KEY_ESC && ev[k].value == 1;
   }
   return escape;
}

static double
now_s(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct vk_buffer {
   VkBuffer buffer;
   VkDeviceMemory memory;
};

/* Venus frames first.. until `frames` are shown or, with `live`, until
 * Escape comes from `live` (*escaped) or `seconds` pass. */
static void
venus_frames(struct kms *k, uint32_t first, uint32_t frames, const struct inputs *live, double seconds, bool *escaped)
{
   const VkApplicationInfo app = { .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1 };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
   VkInstance inst;
   VK_CHECK(vkCreateInstance(&ici, NULL, &inst));
   uint32_t n = 1;
   VkPhysicalDevice phys;
   VkResult er = vkEnumeratePhysicalDevices(inst, &n, &phys);
   if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || n == 0) {
      errno = 0;
      die("no physical device");
   }
   const float prio = 1.0f;
   const VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1,
                                         .pQueuePriorities = &prio };
   const char *exts[] = { "VK_KHR_external_memory_fd", "VK_EXT_external_memory_dma_buf" };
   const VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci, .enabledExtensionCount = 2,
                                    .ppEnabledExtensionNames = exts };
   VkDevice dev;
   VK_CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
   VkQueue queue;
   vkGetDeviceQueue(dev, 0, 0, &queue);
   PFN_vkGetMemoryFdKHR get_fd = (PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(dev, "vkGetMemoryFdKHR");
   if (!get_fd) {
      errno = 0;
      die("no vkGetMemoryFdKHR");
   }

   const uint32_t pitch = k->width * 4;
   const VkDeviceSize frame_bytes = (VkDeviceSize)pitch * k->height;
   const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
   struct vk_buffer heavy, rows, target[BUFFERS];
   uint32_t fbs[BUFFERS];
   VK_CHECK(frame_work_buffer(phys, dev, HEAVY_BYTES, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              0, false, &heavy.buffer, &heavy.memory));
   VK_CHECK(frame_work_buffer(phys, dev, (VkDeviceSize)pitch * BUFFERS, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, visible,
                              false, &rows.buffer, &rows.memory));
   uint32_t *row_map;
   VK_CHECK(vkMapMemory(dev, rows.memory, 0, VK_WHOLE_SIZE, 0, (void **)&row_map));
   /* The scanout buffers: host-visible memory, which the host shares as
    * a blob it can read in place. */
   for (int i = 0; i < BUFFERS; i++) {
      VK_CHECK(frame_work_buffer(phys, dev, frame_bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, visible, true,
                                 &target[i].buffer, &target[i].memory));
      const VkMemoryGetFdInfoKHR gi = { .sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
                                        .memory = target[i].memory,
                                        .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
      int dmabuf;
      VK_CHECK(get_fd(dev, &gi, &dmabuf));
      struct kms_prime_handle prime = { .fd = dmabuf };
      if (xioctl(k->fd, KMS_IOCTL_PRIME_FD_TO_HANDLE, &prime) < 0)
         die("PRIME_FD_TO_HANDLE of Venus memory");
      close(dmabuf);
      fbs[i] = kms_add_fb(k, prime.handle, pitch);
   }

   const VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT };
   VkCommandPool pool;
   VK_CHECK(vkCreateCommandPool(dev, &pci, NULL, &pool));
   VkCommandBuffer cb;
   const VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                             .commandPool = pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                             .commandBufferCount = 1 };
   VK_CHECK(vkAllocateCommandBuffers(dev, &cai, &cb));
   const VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
   VkFence done;
   VK_CHECK(vkCreateFence(dev, &fi, NULL, &done));
   VkBufferCopy *copies = calloc(k->height, sizeof(*copies));
   if (!copies)
      die("out of memory");

   const double until = now_s() + seconds;
   uint32_t f = first;
   for (; f < first + frames; f++) {
      if (live && ((*escaped = inputs_escape(live)) || now_s() > until))
         break;
      const int i = (int)(f % BUFFERS);
      frame_work_row(row_map + (size_t)i * k->width, k->width, f);
      const VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
      VK_CHECK(vkBeginCommandBuffer(cb, &bi));
      /* Heavy work, each step depending on the one before, then the row
       * through the heavy buffer into every row of the scanout buffer. */
      frame_work_heavy(cb, heavy.buffer, HEAVY_BYTES, HEAVY_ROUNDS, f);
      const VkBufferCopy in = { (VkDeviceSize)i * pitch, 0, pitch };
      vkCmdCopyBuffer(cb, rows.buffer, heavy.buffer, 1, &in);
      frame_work_barrier(cb, heavy.buffer);
      for (uint32_t y = 0; y < k->height; y++)
         copies[y] = (VkBufferCopy){ 0, (VkDeviceSize)y * pitch, pitch };
      vkCmdCopyBuffer(cb, heavy.buffer, target[i].buffer, k->height, copies);
      VK_CHECK(vkEndCommandBuffer(cb));
      const VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                .pCommandBuffers = &cb };
      VK_CHECK(vkQueueSubmit(queue, 1, &si, done));
      /* The frame is shown only once it is drawn. */
      VK_CHECK(vkWaitForFences(dev, 1, &done, VK_TRUE, 10ull * 1000 * 1000 * 1000));
      VK_CHECK(vkResetFences(dev, 1, &done));
      kms_show(k, fbs[i]);
      kms_wait_device(k);
   }
   printf("kms_frames: %u Venus frames %ux%u (%u..%u)\n", f - first, k->width, k->height, first, f - 1);
   free(copies);
   vkDestroyFence(dev, done, NULL);
   vkDestroyCommandPool(dev, pool, NULL);
   for (int i = 0; i < BUFFERS; i++) {
      vkDestroyBuffer(dev, target[i].buffer, NULL);
      vkFreeMemory(dev, target[i].memory, NULL);
   }
   vkDestroyBuffer(dev, rows.buffer, NULL);
   vkFreeMemory(dev, rows.memory, NULL);
   vkDestroyBuffer(dev, heavy.buffer, NULL);
   vkFreeMemory(dev, heavy.memory, NULL);
   vkDestroyDevice(dev, NULL);
   vkDestroyInstance(inst, NULL);
}

int
main(int argc, char **argv)
{
   if (argc == 3 && !strcmp(argv[1], "--for")) {
      struct kms k = { 0 };
      kms_open(&k);
      const struct inputs none = { .count = 0 };
      bool escaped = false;
      venus_frames(&k, 1, UINT32_MAX - 1, &none, atof(argv[2]), &escaped);
      return 0;
   }
   if (argc == 3 && !strcmp(argv[1], "--live")) {
      const double seconds = atof(argv[2]);
      struct inputs in;
      inputs_open(&in);
      struct kms k = { .cursor = true };
      kms_open(&k);
      printf("kms_frames: live at %ux%u, %u input devices, until Escape or %.0f s\n", k.width, k.height, in.count,
             seconds);
      fflush(stdout);
      bool escaped = false;
      venus_frames(&k, 1, UINT32_MAX - 1, &in, seconds, &escaped);
      printf("kms_frames: %s\n", escaped ? "Escape from an input device" : "no Escape came");
      return escaped ? 0 : 1;
   }
   const bool venus_only = argc == 3 && !strcmp(argv[1], "--venus");
   if (venus_only) {
      argc--;
      argv++;
   }
   const uint32_t frames = argc > 1 ? (uint32_t)atoi(argv[1]) : 60;
   if (frames == 0 || frames > 30000) {
      fprintf(stderr, "usage: kms_frames [--venus] FRAMES (1..30000) | --for SECONDS | --live SECONDS\n");
      return 2;
   }
   struct kms k = { 0 };
   kms_open(&k);
   printf("kms_frames: connector %u, CRTC %u, mode %ux%u\n", k.connector, k.crtc, k.width, k.height);
   fflush(stdout);
   if (venus_only) {
      venus_frames(&k, 1, frames, NULL, 0, NULL);
      return 0;
   }
   dumb_frames(&k, 1, frames);
   fflush(stdout);
   venus_frames(&k, frames + 1, frames, NULL, 0, NULL);
   return 0;
}
