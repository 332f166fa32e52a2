// SPDX-License-Identifier: MIT
// vk14's fragment stage: the color of a uniform buffer bound with a push
// descriptor (core in Vulkan 1.4), per draw.
#version 450
layout(set = 0, binding = 0) uniform Color { vec4 color; } u;
layout(location = 0) out vec4 out_color;

void main()
{
   out_color = u.color;
}
