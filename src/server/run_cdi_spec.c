/* SPDX-License-Identifier: MIT */
/* --cdi-spec: prints, on stdout, the Container Device Interface spec that
 * gives a container the vtest socket and what a Venus client needs
 * (podman run --device venus-server/gpu=vtest ...): the socket bind-mounted
 * at the same path, VN_DEBUG=vtest, VTEST_SOCKET_NAME and Mesa's Venus
 * ICD. The package installs the one for its service's socket. */
#include <stdio.h>
#include <string.h>

#include "server/server.h"

/* The Venus ICD where Debian's Mesa (mesa-vulkan-drivers) installs it. */
#define VENUS_ICD "/usr/share/vulkan/icd.d/virtio_icd.json"

int
vs_run_cdi_spec(struct vs_server_config *config)
{
   const char *path = config->socket_path;
   /* Written into JSON as is: an absolute path of plain characters. */
   for (const char *p = path; *p; p++) {
      if (*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f) {
         fprintf(stderr, "venus-server: --cdi-spec: the socket path has a character a spec cannot hold as is\n");
         return 2;
      }
   }
   if (path[0] != '/') {
      fprintf(stderr, "venus-server: --cdi-spec: the socket path '%s' is not absolute\n", path);
      return 2;
   }
   printf("{\n"
          "  \"cdiVersion\": \"0.6.0\",\n"
          "  \"kind\": \"venus-server/gpu\",\n"
          "  \"devices\": [\n"
          "    {\n"
          "      \"name\": \"vtest\",\n"
          "      \"containerEdits\": {\n"
          "        \"env\": [\"VN_DEBUG=vtest\", \"VTEST_SOCKET_NAME=%s\", \"VK_DRIVER_FILES=" VENUS_ICD "\"],\n"
          "        \"mounts\": [{\"hostPath\": \"%s\", \"containerPath\": \"%s\", \"options\": [\"bind\"]}]\n"
          "      }\n"
          "    }\n"
          "  ]\n"
          "}\n",
          path, path, path);
   return fflush(stdout) == 0 ? 0 : 1;
}
