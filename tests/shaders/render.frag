// SPDX-License-Identifier: MIT
// vk_render's fragment stage: vertex color, modulated by the texture
// (weighted per draw by a push constant) and tinted by the uniform buffer.
#version 450
layout(location = 0) in vec3 v_color;
layout(location = 1) in vec2 v_uv;

layout(set = 0, binding = 0) uniform Scene {
   vec4 tint;
   vec4 uv_transform;
} scene;
layout(set = 0, binding = 1) uniform sampler2D tex;

layout(push_constant) uniform Draw {
   vec4 transform;
   vec4 offset;
} draw;

layout(location = 0) out vec4 out_color;

void main()
{
   vec4 texel = mix(vec4(1.0), texture(tex, v_uv), draw.offset.w);
   out_color = vec4(v_color, 1.0) * texel * scene.tint;
}
