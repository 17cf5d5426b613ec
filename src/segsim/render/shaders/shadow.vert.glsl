#version 330
in vec3 in_pos;
uniform mat4 u_model;
uniform mat4 u_light_vp;
void main() { gl_Position = u_light_vp * (u_model * vec4(in_pos, 1.0)); }
