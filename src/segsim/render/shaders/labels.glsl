// Label outputs, shared by the lit pass (single-sample path: colour and labels in one pass),
// the id pass (MSAA path) and the background ("nothing hit"). Integer and float attachments are
// never blended or resolved, so labels stay exact. targets.py #defines LOC_IDS, LOC_DEPTH and
// LOC_NORMAL: 1-3 beside the colour at 0, or 0-2 in the id pass. Where the framebuffer lacks an
// attachment (MSAA colour pass, no normals asked) the output is discarded.
uniform uint u_class;
uniform uint u_instance;
uniform mat3 u_view_rot;       // world -> camera rotation, for camera-frame normals

layout(location = LOC_IDS) out uvec2 out_ids;
layout(location = LOC_DEPTH) out float out_depth;
layout(location = LOC_NORMAL) out vec4 out_normal;

// `depth`: metric camera z; `n`: the unit world normal facing the camera.
void write_labels(float depth, vec3 n) {
    out_ids = uvec2(u_class, u_instance);
    out_depth = depth;
    out_normal = vec4(u_view_rot * n, 1.0);
}

void write_nothing_hit() {
    out_ids = uvec2(0u);
    out_depth = 0.0;
    out_normal = vec4(0.0);
}
