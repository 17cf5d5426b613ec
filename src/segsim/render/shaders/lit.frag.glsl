#version 330
// Blinn-Phong: the key light (shadowed, with a highlight) per pixel; the ambient and the
// diffuse-only fill lights arrive lit per vertex in v_soft_light (scene.vert.glsl).
in vec3 v_world;
in vec3 v_normal;
in vec3 v_obj;
in vec3 v_obj_normal;
in float v_depth;
in vec3 v_light;
in vec3 v_soft_light;

uniform vec3 u_key_dir;        // direction the key light travels (world)
uniform vec3 u_key_color;      // colour * intensity
uniform float u_key_wrap;      // soft light: shading wraps this far past the terminator
uniform vec3 u_cam_pos;

uniform vec3 u_color;          // sRGB
uniform vec3 u_color2;         // sRGB, second texture colour
uniform float u_tex_scale;
uniform vec3 u_tex_dir;
uniform vec3 u_tex_offset;
uniform float u_extent;
uniform sampler2D u_image;
uniform float u_specular;
uniform float u_shininess;

#if TEX_KIND == TEX_FILE_COLOR || TEX_KIND == TEX_FILE_IMAGE
in vec2 v_uv;
in vec3 v_color;               // sRGB, the file's colour (white under a texture)
flat in vec4 v_rect;           // atlas rectangle (x, y, w, h) that fract(v_uv) maps into
uniform mat3 u_hue;            // hue rotation of the file's colours (identity: none)
#endif

uniform float u_haze;          // 1/m, 0: none (the sky's haze, see Background.haze)
uniform vec3 u_haze_color;     // sRGB, the sky's horizon

uniform bool u_shadows;
uniform sampler2DShadow u_shadow_map;

layout(location = 0) out vec4 frag_color;   // the labels follow it (labels.glsl)

// TEX_KIND is #defined per program variant (passes.py), TEX_NONE etc. from kinds.py: llvmpipe
// runs both sides of a branch under a mask, so one program with every pattern behind `if`s
// would pay for all of them.
vec3 albedo() {
#if TEX_KIND == TEX_NONE
    return u_color;
#elif TEX_KIND == TEX_IMAGE
    // Triplanar projection in object space: no UVs needed on any primitive.
    vec3 w = pow(abs(normalize(v_obj_normal)), vec3(4.0));
    w /= (w.x + w.y + w.z);
    vec3 p = v_obj * u_tex_scale;
    vec3 c = texture(u_image, p.yz).rgb * w.x + texture(u_image, p.xz).rgb * w.y
           + texture(u_image, p.xy).rgb * w.z;
    return c * u_color * 1.5;
#elif TEX_KIND == TEX_FILE_COLOR
    return clamp(u_hue * v_color, 0.0, 1.0);
#elif TEX_KIND == TEX_FILE_IMAGE
    // wrapped into the tile per pixel, so tiling textures tile; the gradients of the unwrapped
    // UV pick the mip level, so the wrap leaves no seam
    vec2 t = v_rect.xy + fract(v_uv) * v_rect.zw;
    vec3 c = textureGrad(u_image, t, dFdx(v_uv) * v_rect.zw, dFdy(v_uv) * v_rect.zw).rgb;
    return clamp(u_hue * (v_color * c), 0.0, 1.0);
#else
    // TEX_CHECKER, TEX_STRIPES, TEX_NOISE, TEX_GRADIENT
    float f = pattern_factor(TEX_KIND, v_obj, normalize(v_obj_normal), u_tex_scale, u_tex_dir, u_tex_offset,
                             u_extent);
    return mix(u_color, u_color2, f);
#endif
}

float shadow_factor() {
    if (!u_shadows) return 1.0;
    vec3 s = v_light;
    if (s.x <= 0.0 || s.x >= 1.0 || s.y <= 0.0 || s.y >= 1.0) return 1.0;
    return texture(u_shadow_map, vec3(s.xy, s.z - 0.0015));
}

void main() {
    vec3 base = srgb_to_linear(albedo());
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    vec3 v = normalize(u_cam_pos - v_world);
    vec3 col = v_soft_light * base;
    vec3 l = -u_key_dir;
    float nl = dot(n, l);
    float diff = max((nl + u_key_wrap) / (1.0 + u_key_wrap), 0.0);
    vec3 h = normalize(l + v);
    // Schlick's rational stand-in for pow(x, shininess): same lobe shape, no exp/log
    float x = max(dot(n, h), 0.0);
    float spec = nl > 0.0 ? u_specular * x / (u_shininess - u_shininess * x + x) : 0.0;
    col += shadow_factor() * u_key_color * (diff * base + spec);
    // haze: exponential in the distance, toward the horizon colour
    if (u_haze > 0.0) col = mix(srgb_to_linear(u_haze_color), col, exp(-u_haze * length(u_cam_pos - v_world)));
    frag_color = vec4(linear_to_srgb(col), 1.0);
    write_labels(v_depth, n);
}
