"""The process's headless GL context (EGL), shader source assembly and program wrappers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError

SHADER_DIR = Path(__file__).parent / "shaders"
EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"

_CONTEXT: dict = {}


def _create_context():
    import moderngl

    return moderngl.create_standalone_context(backend="egl", require=330)


def get_context():
    """The process's EGL context (re-created after a fork: a child cannot use its parent's)."""
    pid = os.getpid()
    if _CONTEXT.get("pid") != pid:
        try:
            ctx = _create_context()
        except Exception as e:  # moderngl / glcontext raise plain Exceptions with EGL messages
            raise SegsimError(
                f"could not start a headless OpenGL context (EGL): {e}",
                f"install the EGL and Mesa drivers: sudo apt-get install {EGL_PACKAGES}",
            ) from e
        _CONTEXT.clear()
        _CONTEXT.update(pid=pid, ctx=ctx)
    return _CONTEXT["ctx"]


def shader(name: str, includes: tuple[str, ...] = (), defines: dict | None = None) -> str:
    """Shader source with `defines` and the `includes` (files in shaders/) pasted in after the
    `#version` line, which must stay first; GLSL itself has no include."""
    src = (SHADER_DIR / name).read_text()
    first, rest = src.split("\n", 1)
    head = "".join(f"#define {k} {v}\n" for k, v in (defines or {}).items())
    head += "".join((SHADER_DIR / inc).read_text() for inc in includes)
    return first + "\n" + head + rest


def mat4_bytes(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(m.T, dtype="f4").tobytes()  # GLSL matrices are column-major


def mat3_bytes(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(m[:3, :3].T, dtype="f4").tobytes()


class Program:
    """A program plus the set of uniforms that survived compilation (others are ignored)."""

    def __init__(self, ctx, vs: str, fs: str):
        self.prog = ctx.program(vertex_shader=vs, fragment_shader=fs)
        self.names = {name for name in self.prog}

    def set(self, name: str, value):
        if name in self.names:
            self.prog[name].value = value

    def write(self, name: str, data: bytes):
        if name in self.names:
            self.prog[name].write(data)

    def release(self):
        self.prog.release()
