// SPDX-License-Identifier: MIT
// vk_render's vertex stage: a per-draw 2x2 transform and offset from push
// constants, the texture coordinate scaled and shifted by the uniform
// buffer, so that push constants and both descriptor sets change pixels.
#version 450
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec3 in_color;
layout(location = 2) in vec2 in_uv;

layout(set = 0, binding = 0) uniform Scene {
   vec4 tint;
   vec4 uv_transform; // xy: scale, zw: offset
} scene;

layout(push_constant) uniform Draw {
   vec4 transform; // 2x2 matrix, column-major
   vec4 offset;    // xy: position, z: depth, w: texture weight (fragment)
} draw;

layout(location = 0) out vec3 v_color;
layout(location = 1) out vec2 v_uv;

void main()
{
   mat2 m = mat2(draw.transform.xy, draw.transform.zw);
   gl_Position = vec4(m * in_pos.xy + draw.offset.xy, in_pos.z + draw.offset.z, 1.0);
   v_color = in_color;
   v_uv = in_uv * scene.uv_transform.xy + scene.uv_transform.zw;
}
