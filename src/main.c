/* SPDX-License-Identifier: MIT */
/* venus-server: the front door. What it does lives in src/server/: the
 * configuration (config.h: command line, configuration file, environment)
 * and the server (server.h: process-wide set-up and the run modes). */
#include "server/config.h"
#include "server/server.h"

int
main(int argc, char **argv)
{
   /* Before anything else, so that the forker and the workers inherit it. */
   vs_server_refuse_attach();
   /* Read once, before the process has any other thread; read-only once
    * serving (it lives as long as the process). */
   static struct vs_server_config config;
   int status = vs_server_config_parse(&config, argc, argv);
   if (status != VS_SERVER_CONFIG_RUN)
      return status;
   /* The vtest server, a VMM's render server or one of its workers. */
   return vs_server_run(&config);
}
