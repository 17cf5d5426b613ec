#version 330
// One full-screen triangle; no vertex buffer needed. Also used by the MSAA resolve pass.
void main() {
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(p * 2.0 - 1.0, 1.0, 1.0);   // at the far plane: only empty pixels pass
}
