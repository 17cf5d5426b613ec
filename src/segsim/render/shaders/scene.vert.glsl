#version 330
// Shared by the lit pass and the id pass. OpenCV camera: x right, y down, z forward.
in vec3 in_pos;
in vec3 in_normal;

uniform mat4 u_model;        // object_to_world @ unit-mesh scale
uniform mat3 u_normal_mat;   // inverse transpose of u_model's 3x3
uniform mat4 u_view;         // world_to_camera
uniform mat4 u_proj;         // camera -> clip, built from K (see gl.py)
uniform vec3 u_shape_scale;  // unit mesh -> shape (object frame, metres)
uniform mat4 u_light_vp;     // key light's orthographic view-projection (lit pass only)
uniform float u_shadow_texel; // world size of one shadow-map texel

out vec3 v_world;
out vec3 v_normal;
out vec3 v_obj;
out vec3 v_obj_normal;
out float v_depth;
out vec3 v_light;            // shadow-map coordinates (0..1); affine, so exact per vertex

void main() {
    vec4 world = u_model * vec4(in_pos, 1.0);
    vec4 cam = u_view * world;
    v_world = world.xyz;
    v_normal = u_normal_mat * in_normal;
    v_obj = in_pos * u_shape_scale;
    v_obj_normal = in_normal;
    v_depth = cam.z;          // metric z depth, exact under perspective-correct interpolation
    // normal offset against shadow acne, done per vertex: saves a matrix per pixel
    vec3 offset = normalize(v_normal) * (1.5 * u_shadow_texel);
    v_light = (u_light_vp * vec4(world.xyz + offset, 1.0)).xyz * 0.5 + 0.5;
    gl_Position = u_proj * cam;
}
