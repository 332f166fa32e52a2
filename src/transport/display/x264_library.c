/* SPDX-License-Identifier: MIT */
/* Finds libx264 at run time and resolves the encoder's functions (see
 * x264_library.h). x264's ABI version is its X264_BUILD: it is the soname's
 * number, and the one exported symbol that carries it is
 * x264_encoder_open_<X264_BUILD> (x264.h maps x264_encoder_open to it, so
 * that a program never runs against a build it was not compiled for). */
#include "transport/display/x264_library.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Builds whose x264_param_t, x264_picture_t, x264_image_t and x264_nal_t
 * and the functions below are the same: x264.h of build 165 differs from
 * 164's only in CPU flag constants (AArch64, RISC-V and LoongArch ones).
 * A server compiled against one of them runs with a library of any. */
static const int same_abi_builds[] = { 164, 165 };
#define N_SAME_ABI (sizeof(same_abi_builds) / sizeof(same_abi_builds[0]))

/* x264_encoder_open_N is looked for with N in this range to name the build
 * of a library the server cannot use. */
#define BUILD_SCAN_MIN 100
#define BUILD_SCAN_MAX 300

static void
appendf(char *buf, size_t size, const char *fmt, ...)
{
   size_t used = strnlen(buf, size);
   if (used + 1 >= size)
      return;
   va_list ap;
   va_start(ap, fmt);
   vsnprintf(buf + used, size - used, fmt, ap);
   va_end(ap);
}

/* The builds the server can use: the header's first, then the others of
 * its ABI family. */
static size_t
usable_builds(int *builds)
{
   size_t n = 0;
   builds[n++] = X264_BUILD;
   bool family = false;
   for (size_t i = 0; i < N_SAME_ABI; i++)
      family |= same_abi_builds[i] == X264_BUILD;
   for (size_t i = 0; family && i < N_SAME_ABI; i++) {
      if (same_abi_builds[i] != X264_BUILD)
         builds[n++] = same_abi_builds[i];
   }
   return n;
}

static void *
encoder_open_of(void *lib, int build)
{
   char name[40];
   snprintf(name, sizeof(name), "x264_encoder_open_%d", build);
   return dlsym(lib, name);
}

static void
library_name(char *name, size_t size, int build)
{
#ifdef __APPLE__
   if (build)
      snprintf(name, size, "libx264.%d.dylib", build);
   else
      snprintf(name, size, "libx264.dylib");
#else
   if (build)
      snprintf(name, size, "libx264.so.%d", build);
   else
      snprintf(name, size, "libx264.so");
#endif
}

/* Resolves the functions of an opened library of a usable `build`. */
static bool
resolve(struct vs_x264 *x264, void *lib, int build, const char *file, char *why, size_t why_size)
{
   struct {
      const char *name;
      void *addr;
   } fn[] = {
      { "x264_param_default_preset", NULL }, { "x264_param_apply_profile", NULL }, { "x264_encoder_encode", NULL },
      { "x264_encoder_close", NULL },        { "x264_picture_alloc", NULL },       { "x264_picture_clean", NULL },
   };
   for (size_t i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
      fn[i].addr = dlsym(lib, fn[i].name);
      if (!fn[i].addr) {
         appendf(why, why_size, "%s%s (x264 build %d) has no %s", *why ? "; " : "", file, build, fn[i].name);
         return false;
      }
   }
   x264->build = build;
   snprintf(x264->library, sizeof(x264->library), "%s", file);
   x264->encoder_open = (__typeof__(x264->encoder_open))encoder_open_of(lib, build);
   x264->param_default_preset = (__typeof__(x264->param_default_preset))fn[0].addr;
   x264->param_apply_profile = (__typeof__(x264->param_apply_profile))fn[1].addr;
   x264->encoder_encode = (__typeof__(x264->encoder_encode))fn[2].addr;
   x264->encoder_close = (__typeof__(x264->encoder_close))fn[3].addr;
   x264->picture_alloc = (__typeof__(x264->picture_alloc))fn[4].addr;
   x264->picture_clean = (__typeof__(x264->picture_clean))fn[5].addr;
   return true;
}

/* Tries one file: true once its functions are resolved; else the reason is
 * appended to `why` and the file closed again. */
static bool
try_library(struct vs_x264 *x264, const char *file, const int *builds, size_t n_builds, char *why, size_t why_size)
{
   void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
   if (!lib) {
      const char *err = dlerror();
      appendf(why, why_size, "%s%s", *why ? "; " : "", err ? err : file);
      return false;
   }
   for (size_t i = 0; i < n_builds; i++) {
      if (encoder_open_of(lib, builds[i])) {
         if (resolve(x264, lib, builds[i], file, why, why_size))
            return true; /* the library stays loaded for the process */
         dlclose(lib);
         return false;
      }
   }
   int found = 0;
   for (int b = BUILD_SCAN_MIN; b < BUILD_SCAN_MAX && !found; b++) {
      if (encoder_open_of(lib, b))
         found = b;
   }
   if (found)
      appendf(why, why_size, "%s%s is x264 build %d, whose ABI this server was not built for", *why ? "; " : "", file,
              found);
   else
      appendf(why, why_size, "%s%s has no x264_encoder_open_<build>: not libx264", *why ? "; " : "", file);
   dlclose(lib);
   return false;
}

bool
vs_x264_load(struct vs_x264 *x264, char *why, size_t why_size)
{
   int builds[1 + N_SAME_ABI];
   size_t n_builds = usable_builds(builds);
   why[0] = '\0';
   char file[64];
   /* The versioned names (the runtime packages), then the unversioned one
    * (a development symlink or a local build). */
   for (size_t i = 0; i <= n_builds; i++) {
      library_name(file, sizeof(file), i < n_builds ? builds[i] : 0);
      if (try_library(x264, file, builds, n_builds, why, why_size))
         return true;
   }
   appendf(why, why_size, " (this server uses x264 builds");
   for (size_t i = 0; i < n_builds; i++)
      appendf(why, why_size, "%s %d", i ? "," : "", builds[i]);
   appendf(why, why_size, ")");
   return false;
}
