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
#if BG_KIND == BG_SKY
// the dome: every pixel looks up the sky by its world view direction, so the sky turns with
// the camera. Mapping as in assets/skies.py (Blender's equirect, z up, row 0 the zenith).
uniform mat3 u_pix_to_world;   // (pixel x, y, 1) -> world ray: camera-to-world rotation * K^-1
uniform bool u_sky_hdr;        // an equirect sky in u_image, else the gradient color -> color2
uniform float u_exposure;
uniform vec3 u_sun;            // unit, toward the sun (gradient skies draw its disc)
uniform vec3 u_sun_color;
const float PI = 3.14159265358979;

vec3 sky(vec3 d) {
    float elev = asin(clamp(d.z, -1.0, 1.0));
    if (u_sky_hdr) {
        // u_dir.x/y: cos/sin of the sky's turn about z, applied to the direction
        vec2 xy = vec2(u_dir.x * d.x + u_dir.y * d.y, u_dir.x * d.y - u_dir.y * d.x);
        vec2 st = vec2(0.5 - atan(xy.y, xy.x) / (2.0 * PI), 0.5 - elev / PI);
        return textureLod(u_image, st, 0.0).rgb;   // no mips: one lod across the wrap seam
    }
    // horizon (u_color) to zenith (u_color2), most of the change low in the sky; below the
    // horizon the horizon colour darkens a little (usually the ground hides it)
    vec3 c = mix(u_color, u_color2, pow(clamp(elev / (0.5 * PI), 0.0, 1.0), 0.6));
    c = mix(c, u_color * 0.7, clamp(-elev * 3.0, 0.0, 1.0));
    float cos_sun = dot(d, u_sun);
    c += u_sun_color * (smoothstep(0.99985, 0.99995, cos_sun) + 0.25 * pow(max(cos_sun, 0.0), 64.0));
    return c;
}
#endif

layout(location = 0) out vec4 frag_color;   // the labels follow it (labels.glsl)

void main() {
    vec2 uv = gl_FragCoord.xy / u_size;
    float aspect = u_size.x / u_size.y;
    vec2 q = (uv - 0.5) * vec2(aspect, 1.0);
    // rotated by the background's angle (u_dir) and shifted by its seed, so checkers differ too
    vec3 p = vec3(dot(q, u_dir.xy), dot(q, vec2(-u_dir.y, u_dir.x)), 0.0) + vec3(fract(u_offset.xy) * 0.37, 0.0);
    vec3 c;
    // BG_KIND is #defined per program variant (see lit.frag.glsl for why), BG_SOLID etc. by
    // kinds.py.
#if BG_KIND == BG_SOLID
    c = u_color;
#elif BG_KIND == BG_SKY
    c = linear_to_srgb(srgb_to_linear(sky(normalize(u_pix_to_world * vec3(gl_FragCoord.xy, 1.0)))) * u_exposure);
#elif BG_KIND == BG_CLUTTER || BG_KIND == BG_IMAGE
    // photos, and clutter (drawn on the CPU by background.py, far cheaper than in a shader)
    c = texture(u_image, (uv - 0.5) * u_image_scale + 0.5).rgb;
#elif BG_KIND == BG_NOISE
    c = mix(u_color, u_color2, smoothstep(0.3, 0.7, fbm2(p.xy * u_scale + u_offset.xy)));
#else
    // gradient, checker and stripes: the objects' patterns
#if BG_KIND == BG_GRADIENT
#define BG_PATTERN TEX_GRADIENT
#elif BG_KIND == BG_CHECKER
#define BG_PATTERN TEX_CHECKER
#else
#define BG_PATTERN TEX_STRIPES
#endif
    float f = pattern_factor(BG_PATTERN, p, vec3(0.0, 0.0, 1.0), u_scale, vec3(1.0, 0.0, 0.0), u_offset,
                             0.5 * length(vec2(aspect, 1.0)));
    c = mix(u_color, u_color2, f);
#endif
    frag_color = vec4(c, 1.0);
    write_nothing_hit();
}
