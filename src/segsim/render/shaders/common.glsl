// Shared by the lit pass and the background: sRGB helpers and procedural patterns.
// Patterns are evaluated on a 3D coordinate (object space in metres for objects, (u, v, 0)
// for backgrounds), so they need no UVs and look the same on every primitive.

vec3 srgb_to_linear(vec3 c) { return pow(clamp(c, 0.0, 1.0), vec3(2.2)); }
vec3 linear_to_srgb(vec3 c) { return pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)); }

float hash13(vec3 p) {
    p = fract(p * 0.1031);
    p += dot(p, p.zyx + 31.32);
    return fract((p.x + p.y) * p.z);
}

float value_noise(vec3 p) {
    vec3 i = floor(p);
    vec3 f = fract(p);
    vec3 u = f * f * (3.0 - 2.0 * f);
    float n000 = hash13(i);
    float n100 = hash13(i + vec3(1, 0, 0));
    float n010 = hash13(i + vec3(0, 1, 0));
    float n110 = hash13(i + vec3(1, 1, 0));
    float n001 = hash13(i + vec3(0, 0, 1));
    float n101 = hash13(i + vec3(1, 0, 1));
    float n011 = hash13(i + vec3(0, 1, 1));
    float n111 = hash13(i + vec3(1, 1, 1));
    return mix(mix(mix(n000, n100, u.x), mix(n010, n110, u.x), u.y),
               mix(mix(n001, n101, u.x), mix(n011, n111, u.x), u.y), u.z);
}

// Four octaves, roughly in 0..1.
float fbm(vec3 p) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < 4; i++) {
        s += a * value_noise(p);
        p = p * 2.03 + vec3(17.1, 9.2, 3.7);
        a *= 0.5;
    }
    return s / 0.9375;
}

// kind: 1 checker, 2 stripes, 3 noise, 4 gradient. Returns the mix factor between colour 1 and 2.
// `dir` is a unit vector (stripe normal / gradient axis), `extent` the half size for gradients.
float pattern_factor(int kind, vec3 p, float scale, vec3 dir, vec3 offset, float extent) {
    if (kind == 1) {
        vec3 c = floor(p * scale + 0.25);
        return mod(c.x + c.y + c.z, 2.0);
    }
    if (kind == 2) {
        return step(0.5, fract(dot(p, dir) * scale));
    }
    if (kind == 3) {
        return smoothstep(0.3, 0.7, fbm(p * scale + offset));
    }
    if (kind == 4) {
        return clamp(0.5 + 0.5 * dot(p, dir) / max(extent, 1e-6), 0.0, 1.0);
    }
    return 0.0;
}
