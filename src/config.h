/* Process-wide settings, filled from the command line and environment by
 * main() before the server starts, read-only afterwards. */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

struct vs_config {
   const char *socket_path;
   int device_index; /* host physical device to expose; -1 = all */
};

extern struct vs_config vs_config;

#endif
