#version 330
// Shared by the lit pass and the id pass. OpenCV camera: x right, y down, z forward.
in vec3 in_pos;
in vec3 in_normal;

uniform mat4 u_model;        // object_to_world @ unit-mesh scale
uniform mat3 u_normal_mat;   // inverse transpose of u_model's 3x3
uniform mat4 u_view;         // world_to_camera
uniform mat4 u_proj;         // camera -> clip, built from K (see gl.py)
uniform vec3 u_shape_scale;  // unit mesh -> shape (object frame, metres)

out vec3 v_world;
out vec3 v_normal;
out vec3 v_obj;
out vec3 v_obj_normal;
out float v_depth;

void main() {
    vec4 world = u_model * vec4(in_pos, 1.0);
    vec4 cam = u_view * world;
    v_world = world.xyz;
    v_normal = u_normal_mat * in_normal;
    v_obj = in_pos * u_shape_scale;
    v_obj_normal = in_normal;
    v_depth = cam.z;          // metric z depth, exact under perspective-correct interpolation
    gl_Position = u_proj * cam;
}
