#version 330
// Shared by the lit pass and the id pass. OpenCV camera: x right, y down, z forward.
in vec3 in_pos;
in vec3 in_normal;
#if FILE_LOOK
// a mesh file's own look (the file-look variants of the lit pass only, see meshes.py)
in vec2 in_uv;
in vec3 in_color;
in vec4 in_rect;
out vec2 v_uv;
out vec3 v_color;
flat out vec4 v_rect;
#endif

uniform mat4 u_model;        // object_to_world @ unit-mesh scale
uniform mat3 u_normal_mat;   // inverse transpose of u_model's 3x3
uniform mat4 u_view;         // world_to_camera
uniform mat4 u_proj;         // camera -> clip, built from K (see camera.py)
uniform vec3 u_shape_scale;  // unit mesh -> shape (object frame, metres)
uniform mat4 u_light_vp;     // key light's orthographic view-projection (lit pass only)
uniform float u_shadow_texel; // world size of one shadow-map texel
// The soft light (lit pass only): hemisphere ambient and the diffuse-only fill lights, which
// vary slowly over a surface, are lit per vertex; on llvmpipe every per-pixel operation is paid
// for each of the ~40,000 covered pixels, and these were a fifth of the lit shader's cost.
// FILL_LIGHTS is #defined by passes.py (every light after the key light).
uniform vec3 u_ambient;
uniform vec3 u_fill_dir[FILL_LIGHTS];     // direction each fill light travels (world)
uniform vec3 u_fill_color[FILL_LIGHTS];   // colour * intensity; zero for unused lights
uniform float u_fill_wrap[FILL_LIGHTS];   // soft light, as u_key_wrap in lit.frag.glsl

out vec3 v_world;
out vec3 v_normal;
out vec3 v_obj;
out vec3 v_obj_normal;
out float v_depth;
out vec3 v_light;            // shadow-map coordinates (0..1); affine, so exact per vertex
out vec3 v_soft_light;       // ambient + fill irradiance, to be multiplied by the albedo

void main() {
    vec4 world = u_model * vec4(in_pos, 1.0);
    vec4 cam = u_view * world;
    v_world = world.xyz;
    v_normal = u_normal_mat * in_normal;
    v_obj = in_pos * u_shape_scale;
    v_obj_normal = in_normal;
    v_depth = cam.z;          // metric z depth, exact under perspective-correct interpolation
    // normal offset against shadow acne, done per vertex: saves a matrix per pixel
    vec3 n = normalize(v_normal);
    vec3 offset = n * (1.5 * u_shadow_texel);
    v_light = (u_light_vp * vec4(world.xyz + offset, 1.0)).xyz * 0.5 + 0.5;
    // hemisphere ambient: brighter from the sky (world +z) than from the ground, so shapes
    // read as 3D even in their unlit parts
    v_soft_light = u_ambient * (0.6 + 0.65 * (0.5 + 0.5 * n.z));
    for (int i = 0; i < FILL_LIGHTS; i++) {
        float wrap = u_fill_wrap[i];
        v_soft_light += u_fill_color[i] * max((dot(n, -u_fill_dir[i]) + wrap) / (1.0 + wrap), 0.0);
    }
    gl_Position = u_proj * cam;
#if FILE_LOOK
    v_uv = in_uv;
    v_color = in_color;
    v_rect = in_rect;
#endif
}
