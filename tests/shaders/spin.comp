// SPDX-License-Identifier: MIT
// Never ends (tests/vk_hostile runaway-shader): counts in dst[0] forever,
// a store the compiler must keep. Same interface as scale.comp.
#version 450
layout(local_size_x = 1) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, set = 0, binding = 1) buffer Dst { uint dst[]; };
layout(push_constant) uniform Params { uint count; uint mul; uint add; } p;

void main()
{
   while (true)
      dst[0] = dst[0] + p.mul + src[0];
}
