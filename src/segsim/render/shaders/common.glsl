// Shared by the lit pass and the background: gamma helpers and procedural patterns.
// Patterns are evaluated on object-space coordinates in metres (or (u, v) for backgrounds), so
// they need no UVs. Noise reads a small random texture (bilinear value noise) rather than
// hashing: on llvmpipe a texture fetch is far cheaper than the arithmetic of a hash.

uniform sampler2D u_noise;     // tileable 1/f (fbm-like) noise, baked once, bilinear, repeat

// Gamma 2 instead of the exact sRGB curve: the same look, a multiply and a sqrt.
vec3 srgb_to_linear(vec3 c) { return c * c; }
vec3 linear_to_srgb(vec3 c) { c = clamp(c, 1e-6, 1.0); return c * inversesqrt(c); }

// Multi-octave noise in one fetch: the octaves are baked into the texture (gl.py's fbm_tile),
// since a texture fetch is the expensive part on llvmpipe. One texture period spans 8 units.
float fbm2(vec2 p) {
    return texture(u_noise, p * 0.125).r;
}

// Triplanar fbm: three planar lookups blended by the surface normal.
float fbm3(vec3 p, vec3 n) {
    vec3 w = n * n;
    return w.x * fbm2(p.yz) + w.y * fbm2(p.xz + vec2(23.1, 7.3)) + w.z * fbm2(p.xy + vec2(41.7, 13.9));
}

// Square wave of period 1 in -1..1, box-filtered over the pixel footprint (fwidth): stripes and
// checkers stay smooth instead of aliasing into moire when they get finer than a pixel, as a
// camera's optics would blur them.
vec3 filtered_square(vec3 x) {
    vec3 w = max(fwidth(x), vec3(1e-4));
    vec3 tri = abs(fract(x) - 0.5);                         // 0..0.5, edges at 0.25
    vec3 s = clamp((tri - 0.25) / w * 2.0, -1.0, 1.0);
    return s * (1.0 - smoothstep(0.25, 0.75, w));           // fade to the mean when sub-pixel
}

// kind: TEX_CHECKER, TEX_STRIPES, TEX_NOISE or TEX_GRADIENT (kinds.py). Returns the mix factor
// between colour 1 and 2. `dir` is a unit vector (stripe normal / gradient axis), `extent` the
// half size for gradients, `n` the unit normal (noise only).
float pattern_factor(int kind, vec3 p, vec3 n, float scale, vec3 dir, vec3 offset, float extent) {
    if (kind == TEX_CHECKER) {
        vec3 s = filtered_square(p * scale + 0.125);       // product of +-1 waves = 3D checker
        return 0.5 - 0.5 * s.x * s.y * s.z;
    }
    if (kind == TEX_STRIPES) {
        return 0.5 - 0.5 * filtered_square(vec3(dot(p, dir) * scale)).x;
    }
    if (kind == TEX_NOISE) {
        return smoothstep(0.3, 0.7, fbm3(p * scale + offset, n));
    }
    if (kind == TEX_GRADIENT) {
        return clamp(0.5 + 0.5 * dot(p, dir) / max(extent, 1e-6), 0.0, 1.0);
    }
    return 0.0;
}
