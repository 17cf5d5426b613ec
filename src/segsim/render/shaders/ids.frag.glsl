#version 330
// The MSAA path's label pass: a single-sample framebuffer of label targets only (labels.glsl).
in vec3 v_normal;
in float v_depth;

void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    write_labels(v_depth, n);
}
