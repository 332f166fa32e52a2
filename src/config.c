#include "config.h"

#include "vtest/vtest_protocol.h"

struct vs_config vs_config = {
   .socket_path = VTEST_DEFAULT_SOCKET_PATH,
   .device_index = -1,
   .memory_strategy = VS_MEMORY_AUTO,
};
