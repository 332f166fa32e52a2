// SPDX-License-Identifier: MIT
#version 460
#extension GL_EXT_ray_query : require
// The same rays as rt.rgen, answered by a ray query: per pixel, the hit
// instance's custom index + 1 (0: a miss) and the hit distance.
layout(local_size_x = 8, local_size_y = 8) in;
layout(binding = 0) uniform accelerationStructureEXT scene;
layout(binding = 1, std430) writeonly buffer Result { uvec2 hits[]; };
void main()
{
   uvec2 size = gl_NumWorkGroups.xy * gl_WorkGroupSize.xy;
   vec2 p = (vec2(gl_GlobalInvocationID.xy) + 0.5) / vec2(size) * 2.0 - 1.0;
   rayQueryEXT q;
   rayQueryInitializeEXT(q, scene, gl_RayFlagsOpaqueEXT, 0xff, vec3(p, 1.0), 0.0, vec3(0.0, 0.0, -1.0), 10.0);
   while (rayQueryProceedEXT(q)) {
   }
   uvec2 r = uvec2(0u);
   if (rayQueryGetIntersectionTypeEXT(q, true) == gl_RayQueryCommittedIntersectionTriangleEXT)
      r = uvec2(uint(rayQueryGetIntersectionInstanceCustomIndexEXT(q, true)) + 1u,
                floatBitsToUint(rayQueryGetIntersectionTEXT(q, true)));
   hits[gl_GlobalInvocationID.y * size.x + gl_GlobalInvocationID.x] = r;
}
