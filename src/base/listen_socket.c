/* SPDX-License-Identifier: MIT */
#include "base/listen_socket.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"

/* A socket file left by a server that died can be replaced; one that a
 * live server is accepting on cannot. */
static bool
remove_stale_socket(const char *path, const struct sockaddr_un *addr)
{
   struct stat st;
   if (lstat(path, &st) != 0) {
      if (errno == ENOENT)
         return true;
      vs_error(0, "cannot check %s: %s", path, strerror(errno));
      return false;
   }
   if (!S_ISSOCK(st.st_mode)) {
      vs_error(0, "%s exists and is not a socket; not replacing it", path);
      return false;
   }

   int probe = socket(AF_UNIX, SOCK_STREAM, 0);
   if (probe < 0) {
      vs_error(0, "socket: %s", strerror(errno));
      return false;
   }
   int ret = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
   int err = errno;
   close(probe);
   if (ret == 0) {
      vs_error(0, "another server is already listening on %s", path);
      return false;
   }
   if (err != ECONNREFUSED) {
      vs_error(0, "cannot probe %s: %s", path, strerror(err));
      return false;
   }
   vs_info(0, "removing stale socket %s", path);
   if (unlink(path) != 0 && errno != ENOENT) {
      vs_error(0, "cannot remove stale socket %s: %s", path, strerror(errno));
      return false;
   }
   return true;
}

int
vs_listen_socket_open(const char *path, struct stat *identity)
{
   struct sockaddr_un addr;
   memset(&addr, 0, sizeof(addr));
   addr.sun_family = AF_UNIX;
   if (strlen(path) >= sizeof(addr.sun_path)) {
      vs_error(0, "socket path %s is too long (limit %zu bytes)", path,
               sizeof(addr.sun_path) - 1);
      return -1;
   }
   memcpy(addr.sun_path, path, strlen(path));

   if (!remove_stale_socket(path, &addr))
      return -1;

   int fd = socket(AF_UNIX, SOCK_STREAM, 0);
   if (fd < 0) {
      vs_error(0, "socket: %s", strerror(errno));
      return -1;
   }
   const char *step;
   bool bound = false;
   if (os_set_cloexec(fd) < 0 || os_set_nonblocking(fd, true) < 0) {
      step = "fcntl";
   } else if (bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0) {
      step = "bind";
   } else {
      bound = true;
      step = "listen";
      if (listen(fd, SOMAXCONN) == 0 && stat(path, identity) == 0)
         return fd;
   }
   int err = errno;
   vs_error(0, "cannot listen on %s: %s: %s", path, step, strerror(err));
   if (bound)
      unlink(path);
   close(fd);
   return -1;
}

void
vs_listen_socket_remove(const char *path, const struct stat *identity)
{
   struct stat st;
   if (identity && lstat(path, &st) == 0 && st.st_dev == identity->st_dev && st.st_ino == identity->st_ino)
      unlink(path);
}

