/* SPDX-License-Identifier: MIT */
/* Test client: creates an instance, a device and a few objects under it,
 * prints "holding objects" and waits (pause) until killed. Used to check
 * that the server releases a killed client's host objects, and to measure
 * what an idle connected client costs the server. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#define CHECK(call)                                                                          \
   do {                                                                                      \
      VkResult r_ = (call);                                                                  \
      if (r_ != VK_SUCCESS) {                                                                \
         fprintf(stderr, "vk_hold: %s failed: %d\n", #call, r_);                            \
         return 1;                                                                           \
      }                                                                                      \
   } while (0)

int
main(void)
{
   const VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "vk_hold",
      .apiVersion = VK_API_VERSION_1_1,
   };
   const VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
   VkInstance instance;
   CHECK(vkCreateInstance(&ici, NULL, &instance));
   uint32_t count = 1;
   VkPhysicalDevice phys;
   VkResult r = vkEnumeratePhysicalDevices(instance, &count, &phys);
   if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) {
      fprintf(stderr, "vk_hold: no physical device\n");
      return 1;
   }
   const float prio = 1.0f;
   const VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &prio,
   };
   const VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
   };
   VkDevice device;
   CHECK(vkCreateDevice(phys, &dci, NULL, &device));

   const VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 65536,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
   };
   VkBuffer buffers[4];
   for (int i = 0; i < 4; i++)
      CHECK(vkCreateBuffer(device, &bci, NULL, &buffers[i]));
   const VkSamplerCreateInfo sci = { .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO, .maxLod = 1.0f };
   VkSampler sampler;
   CHECK(vkCreateSampler(device, &sci, NULL, &sampler));
   const VkDescriptorSetLayoutBinding binding = {
      .binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
   };
   const VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &binding,
   };
   VkDescriptorSetLayout dsl;
   CHECK(vkCreateDescriptorSetLayout(device, &dslci, NULL, &dsl));
   const VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1, .pSetLayouts = &dsl,
   };
   VkPipelineLayout layout;
   CHECK(vkCreatePipelineLayout(device, &plci, NULL, &layout));
   const VkCommandPoolCreateInfo cpci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO };
   VkCommandPool pool;
   CHECK(vkCreateCommandPool(device, &cpci, NULL, &pool));
   /* A synchronous call makes sure everything above reached the server. */
   VkMemoryRequirements req;
   vkGetBufferMemoryRequirements(device, buffers[0], &req);

   printf("holding objects (pid %d)\n", (int)getpid());
   fflush(stdout);
   for (;;)
      pause();
}
