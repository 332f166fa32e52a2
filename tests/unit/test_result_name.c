/* SPDX-License-Identifier: MIT */
/* vn_result_name (generated from vk.xml): the names log lines print, for
 * the enum's own values and those features and extensions add. */
#include "unit.h"
#include "vn_vk.h"

TEST(result_name_core)
{
   CHECK_STR_EQ(vn_result_name(VK_SUCCESS), "VK_SUCCESS");
   CHECK_STR_EQ(vn_result_name(VK_ERROR_OUT_OF_HOST_MEMORY), "VK_ERROR_OUT_OF_HOST_MEMORY");
   CHECK_STR_EQ(vn_result_name(VK_ERROR_DEVICE_LOST), "VK_ERROR_DEVICE_LOST");
}

/* Values a core version took over from an extension (vk.xml lists them
 * under its <feature>, not in the VkResult enum). */
TEST(result_name_promoted)
{
   CHECK_STR_EQ(vn_result_name(VK_ERROR_INVALID_EXTERNAL_HANDLE), "VK_ERROR_INVALID_EXTERNAL_HANDLE");
   CHECK_EQ((int)VK_ERROR_INVALID_EXTERNAL_HANDLE, -1000072003);
   CHECK_STR_EQ(vn_result_name(VK_ERROR_OUT_OF_POOL_MEMORY), "VK_ERROR_OUT_OF_POOL_MEMORY");
   CHECK_STR_EQ(vn_result_name(VK_PIPELINE_COMPILE_REQUIRED), "VK_PIPELINE_COMPILE_REQUIRED");
}

TEST(result_name_extension)
{
   CHECK_STR_EQ(vn_result_name(VK_ERROR_OUT_OF_DATE_KHR), "VK_ERROR_OUT_OF_DATE_KHR");
   CHECK_STR_EQ(vn_result_name(VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT),
                "VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT");
   CHECK_STR_EQ(vn_result_name(VK_THREAD_DONE_KHR), "VK_THREAD_DONE_KHR");
}

TEST(result_name_unknown)
{
   CHECK_STR_EQ(vn_result_name((VkResult)-12345), "VK_RESULT_UNKNOWN");
   CHECK_STR_EQ(vn_result_name((VkResult)1000999999), "VK_RESULT_UNKNOWN");
}

UNIT_MAIN(UNIT(result_name_core), UNIT(result_name_promoted), UNIT(result_name_extension), UNIT(result_name_unknown))
