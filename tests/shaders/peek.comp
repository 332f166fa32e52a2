// SPDX-License-Identifier: MIT
// dst[i] = the i-th 32-bit word at the device address held in src's first
// 8 bytes, over `count` words: a shader that reads wherever it is told
// (tests/vk_peek.c). Same layout as scale.comp.
#version 450
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require
layout(local_size_x = 256) in;
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Words { uint w[]; };
layout(std430, set = 0, binding = 0) readonly buffer Src { uvec2 address; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };
layout(push_constant) uniform Params { uint count; uint mul; uint add; } p;

void main()
{
   uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
   if (i < p.count)
      dst[i] = Words(address).w[i];
}
