#version 330
// Backgrounds behind everything. gl_FragCoord.y is the image row (the renderer draws flipped
// so readback needs no flip), so uv (0,0) is the top-left corner of the image.
uniform vec2 u_size;
uniform vec3 u_color;
uniform vec3 u_color2;
uniform float u_scale;
uniform vec3 u_dir;
uniform vec3 u_offset;
uniform sampler2D u_image;
uniform vec2 u_image_scale;    // cover-fit crop of the image to the frame's aspect

#define MAX_BLOBS 24
uniform int u_num_blobs;
uniform vec4 u_blob_geom[MAX_BLOBS];   // centre x, y (uv), half size x, y
uniform vec4 u_blob_color[MAX_BLOBS];  // sRGB, edge softness
uniform vec4 u_blob_shape[MAX_BLOBS];  // cos, sin of rotation, 0 ellipse / 1 rectangle, opacity
uniform vec3 u_color3;

out vec4 frag_color;

void main() {
    vec2 uv = gl_FragCoord.xy / u_size;
    float aspect = u_size.x / u_size.y;
    vec3 p = vec3((uv - 0.5) * vec2(aspect, 1.0), 0.0);
    vec3 c;
    // BG_KIND is #defined per program variant (see lit.frag for why).
#if BG_KIND == 0
    c = u_color;
#elif BG_KIND == 6
    c = texture(u_image, (uv - 0.5) * u_image_scale + 0.5).rgb;
#elif BG_KIND == 5
    // Photo-like clutter: multi-scale noise in three colours, then soft shapes on top.
    float n1 = fbm(p * u_scale + u_offset);
    float n2 = fbm(p * u_scale * 3.1 + u_offset.zxy);
    c = mix(mix(u_color, u_color2, n1), u_color3, smoothstep(0.35, 0.75, n2) * 0.6);
    for (int i = 0; i < u_num_blobs; i++) {
        vec2 d = (uv - u_blob_geom[i].xy) * vec2(aspect, 1.0);
        d = vec2(u_blob_shape[i].x * d.x + u_blob_shape[i].y * d.y,
                 -u_blob_shape[i].y * d.x + u_blob_shape[i].x * d.y) / u_blob_geom[i].zw;
        float dist = u_blob_shape[i].z > 0.5 ? max(abs(d.x), abs(d.y)) : length(d);
        float a = 1.0 - smoothstep(1.0 - u_blob_color[i].w, 1.0, dist);
        c = mix(c, u_blob_color[i].rgb, a * u_blob_shape[i].w);
    }
#else
    // 1 gradient, 2 checker, 3 stripes, 4 noise -> pattern kinds 4, 1, 2, 3
    float f = pattern_factor(BG_KIND == 1 ? 4 : BG_KIND - 1, p, u_scale, u_dir, u_offset,
                             0.5 * length(vec2(aspect, 1.0)));
    c = mix(u_color, u_color2, f);
#endif
    frag_color = vec4(c, 1.0);
}
