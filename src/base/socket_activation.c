/* SPDX-License-Identifier: MIT */
#include "base/socket_activation.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "os/os.h"

/* The first fd passed (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/* A decimal number in [0, max] spanning the whole string. */
static bool
parse_count(const char *s, unsigned long max, unsigned long *out)
{
   char *end;
   errno = 0;
   unsigned long v = strtoul(s, &end, 10);
   if (errno || end == s || *end || *s == '-' || v > max)
      return false;
   *out = v;
   return true;
}

bool
vs_listening_unix_socket(int fd, char *path, size_t path_size)
{
   struct stat st;
   int type = 0;
   socklen_t len = sizeof(type);
   if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
      return false;
#ifdef SO_ACCEPTCONN
   int listening = 0;
   len = sizeof(listening);
   if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
      return false;
#endif
   struct sockaddr_un addr;
   memset(&addr, 0, sizeof(addr));
   len = sizeof(addr);
   if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0 || addr.sun_family != AF_UNIX)
      return false;
   /* An abstract or unnamed socket has no path to show. */
   size_t n = strnlen(addr.sun_path, sizeof(addr.sun_path));
   if (n == 0 || n >= path_size)
      snprintf(path, path_size, "the socket systemd passed");
   else
      memcpy(path, addr.sun_path, n + 1);
   return true;
}

int
vs_socket_activation(const char *listen_pid, const char *listen_fds, struct vs_activated_socket sockets[VS_ACTIVATED_MAX])
{
   unsigned long pid = 0, fds = 0;
   bool ours = listen_pid && parse_count(listen_pid, (unsigned long)-1, &pid) && pid == (unsigned long)getpid();
   bool counted = listen_fds && parse_count(listen_fds, 1024, &fds);
   if (!ours)
      return 0;
   if (!counted || fds < 1 || fds > VS_ACTIVATED_MAX) {
      vs_error(0, "socket activation: LISTEN_FDS=%s: venus-server listens on one socket, or two with "
                  "--vhost-user-input", listen_fds ? listen_fds : "(unset)");
      return -1;
   }
   for (unsigned i = 0; i < fds; i++) {
      const int fd = LISTEN_FDS_START + (int)i;
      sockets[i].fd = fd;
      if (!vs_listening_unix_socket(fd, sockets[i].path, sizeof(sockets[i].path))) {
         vs_error(0, "socket activation: fd %d is not a listening Unix stream socket (ListenStream=PATH)", fd);
         return -1;
      }
      if (os_set_cloexec(fd) < 0 || os_set_nonblocking(fd, true) < 0) {
         vs_error(0, "socket activation: fcntl on fd %d: %s", fd, strerror(errno));
         return -1;
      }
   }
   return (int)fds;
}

const struct vs_activated_socket *
vs_socket_activation_find(const struct vs_activated_socket *sockets, unsigned count, const char *path)
{
   for (unsigned i = 0; path && i < count; i++)
      if (strcmp(sockets[i].path, path) == 0)
         return &sockets[i];
   return NULL;
}
