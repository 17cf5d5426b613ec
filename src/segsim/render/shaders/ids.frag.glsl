#version 330
// Exact labels: written to integer / float attachments of a single-sample framebuffer, so
// nothing is ever blended or resolved.
in vec3 v_world;
in vec3 v_normal;
in vec3 v_obj;
in vec3 v_obj_normal;
in float v_depth;

uniform uint u_class;
uniform uint u_instance;
uniform mat3 u_view_rot;     // world -> camera rotation, for camera-frame normals

layout(location = 0) out uvec2 out_ids;
layout(location = 1) out float out_depth;
layout(location = 2) out vec4 out_normal;

void main() {
    out_ids = uvec2(u_class, u_instance);
    out_depth = v_depth;
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    out_normal = vec4(u_view_rot * n, 1.0);
}
