// SPDX-License-Identifier: MIT
#version 460
#extension GL_EXT_ray_tracing : require
// The instance's custom index picks the red, the barycentrics the rest.
layout(location = 0) rayPayloadInEXT vec4 color;
hitAttributeEXT vec2 bary;
void main() { color = vec4(float(gl_InstanceCustomIndexEXT) * 0.5, bary, 1.0); }
