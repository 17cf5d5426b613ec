#version 330
// MSAA resolve as a full-screen pass: the plain average of the samples (what a blit resolve
// does), but faster than llvmpipe's blit path.
uniform sampler2DMS u_ms;
uniform int u_samples;
out vec4 frag_color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 sum = vec4(0.0);
    for (int i = 0; i < u_samples; i++) sum += texelFetch(u_ms, p, i);
    frag_color = sum / float(u_samples);
}
