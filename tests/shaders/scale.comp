// SPDX-License-Identifier: MIT
// dst[i] = src[i] * mul + add + i over `count` 32-bit words. Dispatched as a
// 2D grid because 64 MiB of words needs more than 65535 groups in x.
#version 450
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };
layout(push_constant) uniform Params { uint count; uint mul; uint add; } p;

void main()
{
   uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
   if (i < p.count)
      dst[i] = src[i] * p.mul + p.add + i;
}
