/* SPDX-License-Identifier: MIT */
#include "base/service_notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "os/os.h"

int
vs_service_notify(const char *socket_path, const char *message)
{
   struct sockaddr_un addr = { .sun_family = AF_UNIX };
   const size_t len = socket_path ? strlen(socket_path) : 0;
   if (len < 2 || len >= sizeof(addr.sun_path) || (socket_path[0] != '/' && socket_path[0] != '@')) {
      errno = EINVAL;
      return -1;
   }
   memcpy(addr.sun_path, socket_path, len);
   if (addr.sun_path[0] == '@')
      addr.sun_path[0] = '\0';
   int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
   if (fd < 0)
      return -1;
   (void)os_set_cloexec(fd);
   const socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
   ssize_t n = sendto(fd, message, strlen(message), 0, (const struct sockaddr *)&addr, addr_len);
   int err = errno;
   close(fd);
   errno = err;
   return n == (ssize_t)strlen(message) ? 0 : -1;
}
