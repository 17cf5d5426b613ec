#version 330
// FXAA (Lottes' compact variant): the cheap anti-aliasing used when the renderer runs without
// MSAA (msaa=0). Reads the single-sample colour and
// blends along the local edge direction where luma contrast says there is an edge.
uniform sampler2D u_color_tex;
uniform vec2 u_inv_size;
out vec4 frag_color;

const float REDUCE_MIN = 1.0 / 128.0;
const float REDUCE_MUL = 1.0 / 8.0;
const float SPAN_MAX = 8.0;

void main() {
    vec2 uv = gl_FragCoord.xy * u_inv_size;
    vec3 luma = vec3(0.299, 0.587, 0.114);
    vec3 rgbM = texture(u_color_tex, uv).rgb;
    float lNW = dot(texture(u_color_tex, uv + vec2(-1.0, -1.0) * u_inv_size).rgb, luma);
    float lNE = dot(texture(u_color_tex, uv + vec2(1.0, -1.0) * u_inv_size).rgb, luma);
    float lSW = dot(texture(u_color_tex, uv + vec2(-1.0, 1.0) * u_inv_size).rgb, luma);
    float lSE = dot(texture(u_color_tex, uv + vec2(1.0, 1.0) * u_inv_size).rgb, luma);
    float lM = dot(rgbM, luma);
    float lMin = min(lM, min(min(lNW, lNE), min(lSW, lSE)));
    float lMax = max(lM, max(max(lNW, lNE), max(lSW, lSE)));
    vec2 dir = vec2(-((lNW + lNE) - (lSW + lSE)), (lNW + lSW) - (lNE + lSE));
    float reduce = max((lNW + lNE + lSW + lSE) * 0.25 * REDUCE_MUL, REDUCE_MIN);
    float rcp = 1.0 / (min(abs(dir.x), abs(dir.y)) + reduce);
    dir = clamp(dir * rcp, vec2(-SPAN_MAX), vec2(SPAN_MAX)) * u_inv_size;
    vec3 a = 0.5 * (texture(u_color_tex, uv + dir * (1.0 / 3.0 - 0.5)).rgb
                  + texture(u_color_tex, uv + dir * (2.0 / 3.0 - 0.5)).rgb);
    vec3 b = a * 0.5 + 0.25 * (texture(u_color_tex, uv - dir * 0.5).rgb
                             + texture(u_color_tex, uv + dir * 0.5).rgb);
    float lB = dot(b, luma);
    frag_color = vec4((lB < lMin || lB > lMax) ? a : b, 1.0);
}
