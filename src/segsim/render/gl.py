"""Headless OpenGL renderer (moderngl + EGL): one call draws every pass of a frame.

Passes, all on preallocated framebuffers and cached programs / vertex arrays:
  1. shadow: depth-only, orthographic from the first light, objects only (the ground receives);
  2. colour + labels (the default, msaa=0): one single-sample pass with multiple render targets:
             Blinn-Phong RGB, (class, instance) in an RG16UI texture, metric z in R32F and
             optionally camera-frame normals; integer targets are never blended or resolved, so
             labels are exact. Objects first, then the background behind them. The RGB is then
             anti-aliased on the CPU along the edges the label buffers mark (edge_aa.py).
     or, with msaa > 1: an id pass (the same label targets, single sample) and a multisampled
             colour pass resolved by a shader: coverage-based AA for about 1.6x the frame time.
Then three (or four) glReadPixels into numpy and the RGB post-effects.

Everything is drawn with image rows going up in GL window space (see camera.py), so readback
needs no flip; that mirror turns front faces clockwise.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError
from segsim.render.background import KINDS as BACKGROUND_KINDS
from segsim.render.background import clutter_image, seed_offset
from segsim.render.camera import light_view_projection, projection_from_K
from segsim.render.edge_aa import smooth_edges
from segsim.render.meshes import (
    MESHES,
    SHADOW_LEVEL,
    bounding_radius,
    detail_level,
    shape_to_unit,
)
from segsim.render.postfx import apply_postfx

SHADER_DIR = Path(__file__).parent / "shaders"
TEXTURE_KINDS = {None: 0, "checker": 1, "stripes": 2, "noise": 3, "gradient": 4, "image": 5}
MAX_LIGHTS = 4
EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"
NOISE_SIZE = 128


def fbm_tile(size: int, seed: int = 1234, beta: float = 1.8) -> np.ndarray:
    """Tileable noise with a 1/f^beta spectrum (what fbm approximates), equalised to 0..255.
    Made in the frequency domain, so it wraps seamlessly and carries every octave at once."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    amplitude = f ** (-beta / 2 * 2) * (f > 1.5 / size)      # drop the DC and the lowest ring
    spectrum = amplitude * np.exp(2j * np.pi * rng.random(amplitude.shape))
    img = np.fft.irfft2(spectrum, s=(size, size))
    ranks = np.argsort(np.argsort(img, axis=None))              # histogram equalisation
    return (ranks * (256.0 / ranks.size)).astype(np.uint8).reshape(size, size)


@dataclass
class Frame:
    rgb: np.ndarray              # H x W x 3 uint8, post-effects applied
    class_ids: np.ndarray        # H x W uint8
    instance_ids: np.ndarray     # H x W uint16, 0 = none
    depth: np.ndarray            # H x W float32 metres (camera z), 0 = nothing hit
    normals: np.ndarray | None = None   # H x W x 3 float32, camera frame (OpenCV), 0 = nothing


# --- context: one per process ----------------------------------------------------------------
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


# Where labels.glsl's outputs go: after the colour (lit and background programs), or alone in
# the MSAA path's id pass. GLSL 330 wants literal locations, hence defines.
LABELS_AFTER_COLOR = {"LOC_IDS": 1, "LOC_DEPTH": 2, "LOC_NORMAL": 3}
LABELS_ALONE = {"LOC_IDS": 0, "LOC_DEPTH": 1, "LOC_NORMAL": 2}


def _shader(name: str, includes: tuple[str, ...] = (), defines: dict | None = None) -> str:
    """Shader source with `defines` and the `includes` (files in shaders/) pasted in after the
    `#version` line, which must stay first; GLSL itself has no include."""
    src = (SHADER_DIR / name).read_text()
    first, rest = src.split("\n", 1)
    head = "".join(f"#define {k} {v}\n" for k, v in (defines or {}).items())
    head += "".join((SHADER_DIR / inc).read_text() for inc in includes)
    return first + "\n" + head + rest


def _mat4_bytes(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(m.T, dtype="f4").tobytes()   # GLSL matrices are column-major


def _mat3_bytes(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(m[:3, :3].T, dtype="f4").tobytes()


class _Program:
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


@dataclass
class _DrawItem:
    key: tuple                  # unit mesh key
    level: int                  # mesh detail for this draw (see meshes.detail_level)
    model: bytes
    normal_mat: bytes
    shape_scale: tuple
    obj: object     # SceneObject
    centre: tuple   # world position of the object's origin
    radius: float   # world radius of a sphere about `centre` holding the whole object


class Renderer:
    """Renders Scenes of a fixed size. Create one per process and reuse it for every frame."""

    def __init__(self, width: int, height: int, msaa: int = 0, shadow_map_size: int = 1024):
        """`msaa` 0 or 1 (the default): one single-sample pass writes colour and labels together,
        and edges are anti-aliased from the label buffers (edge_aa.py); fastest on llvmpipe.
        `msaa` > 1: multisample anti-aliasing with that many samples (4 on llvmpipe), with the
        labels drawn in a pass of their own; about 1.6x the frame time on llvmpipe (see
        bench/bench_render.py), close to free on a GPU."""

        if width < 1 or height < 1:
            raise SegsimError(f"render size must be positive, got {width}x{height}", "use e.g. 256x256")
        self.width, self.height = int(width), int(height)
        self.ctx = get_context()
        self._lock = threading.Lock()
        with self.ctx:            # current in this thread while we build (see render)
            self._build(msaa, shadow_map_size)

    def _build(self, msaa: int, shadow_map_size: int):
        import moderngl

        ctx = self.ctx
        max_samples = int(ctx.max_samples)
        self.msaa = int(min(max(msaa, 0), max_samples)) if msaa > 1 else 0
        # The map is fitted to the shadow casters, so at the frame's own resolution it already
        # gives about one texel per pixel of a caster; finer costs fill and cache on llvmpipe
        # (512 for a 256 frame took ~1.5 ms more per frame). The argument stays the maximum.
        self.shadow_map_size = int(min(shadow_map_size, max(self.width, self.height)))
        size = (self.width, self.height)

        vs = _shader("scene.vert.glsl", defines={"FILL_LIGHTS": MAX_LIGHTS - 1})
        # one lit program per texture kind and one background program per kind: specialised
        # shaders cost only what they use (llvmpipe executes both sides of uniform branches)
        with_labels = ("common.glsl", "labels.glsl")
        self.lit_variants = {kind: _Program(ctx, vs, _shader("lit.frag.glsl", with_labels,
                                                             {"TEX_KIND": kind, **LABELS_AFTER_COLOR}))
                             for kind in TEXTURE_KINDS.values()}
        self.shadow = _Program(ctx, _shader("shadow.vert.glsl"), _shader("shadow.frag.glsl"))
        self.bg_variants = {kind: _Program(ctx, _shader("background.vert.glsl"),
                                           _shader("background.frag.glsl", with_labels,
                                                   {"BG_KIND": kind, **LABELS_AFTER_COLOR}))
                            for kind in BACKGROUND_KINDS.values()}
        self.bg_vaos = {kind: ctx.vertex_array(p.prog, []) for kind, p in self.bg_variants.items()}
        for p in self.lit_variants.values():
            p.set("u_shadow_map", 1)
            p.set("u_image", 2)
            p.set("u_noise", 4)
        for p in self.bg_variants.values():
            p.set("u_image", 3)
            p.set("u_noise", 4)

        # label targets: exact integer / float textures, single sample
        self.ids_tex = ctx.texture(size, 2, dtype="u2")
        self.depth_tex = ctx.texture(size, 1, dtype="f4")
        self.normal_tex = ctx.texture(size, 4, dtype="f4")
        for t in (self.ids_tex, self.depth_tex, self.normal_tex):
            t.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.ids_zbuf = ctx.depth_renderbuffer(size)

        # colour: single-sample with the label targets attached (colour_fbo = resolve_fbo), or
        # MSAA resolved by a shader pass into resolve_fbo, with an id pass for the labels
        self.resolve_rb = ctx.renderbuffer(size, 4)
        self.ids = None    # the id pass's program: MSAA path only
        if self.msaa:
            self.ids = _Program(ctx, vs, _shader("ids.frag.glsl", ("labels.glsl",), LABELS_ALONE))
            self.ids_fbo = ctx.framebuffer([self.ids_tex, self.depth_tex], self.ids_zbuf)
            self.ids_normals_fbo = ctx.framebuffer([self.ids_tex, self.depth_tex, self.normal_tex], self.ids_zbuf)
            self.color_rb = ctx.texture(size, 4, samples=self.msaa)
            self.color_zbuf = ctx.depth_renderbuffer(size, samples=self.msaa)
            self.color_fbo = ctx.framebuffer([self.color_rb], self.color_zbuf)
            self.color_normals_fbo = self.color_fbo
            self.resolve_fbo = ctx.framebuffer([self.resolve_rb])
            self.resolve = _Program(ctx, _shader("background.vert.glsl"), _shader("resolve.frag.glsl"))
            self.resolve.set("u_ms", 5)
            self.resolve.set("u_samples", self.msaa)
            self.resolve_vao = ctx.vertex_array(self.resolve.prog, [])
        else:
            self.color_fbo = ctx.framebuffer([self.resolve_rb, self.ids_tex, self.depth_tex], self.ids_zbuf)
            self.color_normals_fbo = ctx.framebuffer([self.resolve_rb, self.ids_tex, self.depth_tex, self.normal_tex],
                                                     self.ids_zbuf)
            self.resolve_fbo = self.color_fbo

        # shadow pass
        self.shadow_tex = ctx.depth_texture((self.shadow_map_size,) * 2)
        self.shadow_tex.compare_func = "<="
        # one comparison per pixel (NEAREST): with a map at twice the frame resolution and MSAA on
        # top, 4-tap PCF buys little and costs a tenth of the frame on llvmpipe
        self.shadow_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.shadow_tex.repeat_x = self.shadow_tex.repeat_y = False
        self.shadow_fbo = ctx.framebuffer(depth_attachment=self.shadow_tex)

        self.white = ctx.texture((1, 1), 3, b"\xff\xff\xff")
        # fbm-like noise for procedural textures: baked once, tileable. Bilinear without mipmaps:
        # mip selection costs llvmpipe more than the fetch, and the 1/f spectrum has little
        # energy at the texel scale to alias.
        self.noise_tex = ctx.texture((NOISE_SIZE, NOISE_SIZE), 1, fbm_tile(NOISE_SIZE).tobytes())
        self.noise_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.noise_tex.repeat_x = self.noise_tex.repeat_y = True
        # clutter is drawn at half resolution (it is soft anyway) and upscaled bilinearly
        self.clutter_size = ((self.width + 1) // 2, (self.height + 1) // 2)
        self.clutter_tex = ctx.texture(self.clutter_size, 3, alignment=1)
        self.clutter_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.clutter_key = None  # what clutter_tex holds now; the viewer redraws one scene often
        from segsim.render.images import ImageTextures
        self.images = ImageTextures(ctx)

        self._gpu_meshes: OrderedDict[tuple, dict] = OrderedDict()
        self._released = False

    # --- resources ----------------------------------------------------------------------------
    def _mesh(self, key: tuple, level: int) -> dict:
        """Vertex arrays of a unit mesh at a detail level, for each program (LRU cached)."""
        full_key = (*key, level)
        entry = self._gpu_meshes.get(full_key)
        if entry is not None:
            self._gpu_meshes.move_to_end(full_key)
            return entry
        data = MESHES.get(key, level)
        vbo = self.ctx.buffer(data.vertices.tobytes())
        ibo = self.ctx.buffer(data.indices.tobytes())
        layout = [(vbo, "3f 3f", "in_pos", "in_normal")]
        entry = {
            "buffers": (vbo, ibo),
            "lit": {kind: self.ctx.vertex_array(p.prog, layout, ibo, 4) for kind, p in self.lit_variants.items()},
            "shadow": self.ctx.vertex_array(self.shadow.prog, [(vbo, "3f 12x", "in_pos")], ibo, 4),
        }
        if self.ids is not None:
            entry["ids"] = self.ctx.vertex_array(self.ids.prog, layout, ibo, 4)
        self._gpu_meshes[full_key] = entry
        if len(self._gpu_meshes) > MESHES.capacity:
            _, old = self._gpu_meshes.popitem(last=False)
            _release_mesh_vaos(old)
            for b in old["buffers"]:
                b.release()
        return entry

    def _draw_items(self, scene) -> list[_DrawItem]:
        items = []
        objs = list(scene.objects) + ([scene.ground] if scene.ground is not None else [])
        cam = scene.camera
        w2c_z = np.asarray(cam.world_to_camera, float)[2].tolist()
        focal = float(max(cam.K[0][0], cam.K[1][1]))
        for obj in objs:
            key, scale = shape_to_unit(obj.shape)
            o2w = np.asarray(obj.object_to_world, float)
            model = o2w @ scale
            normal_mat = _inverse_transpose3(model)
            centre = o2w[:3, 3].tolist()
            grow = _max_scale(o2w)
            radius = bounding_radius(obj.shape) * grow
            # nearest point of the bounding sphere sets the on-screen size (inf: camera inside)
            z = sum(w * c for w, c in zip(w2c_z, centre)) + w2c_z[3] - radius
            px_per_metre = focal * grow / z if z > cam.near else np.inf
            items.append(_DrawItem(key, detail_level(obj.shape, px_per_metre), _mat4_bytes(model),
                                   _mat3_bytes(normal_mat), (float(scale[0, 0]), float(scale[1, 1]), float(scale[2, 2])), obj,
                                   tuple(centre), radius))
        return items

    # --- passes ---------------------------------------------------------------------------------
    def _shadow_pass(self, scene, items) -> np.ndarray | None:
        import moderngl

        casters = [it for it in items if it.obj is not scene.ground]
        if not scene.lights or not scene.lights[0].cast_shadows or not casters:
            return None
        centres = np.array([it.centre for it in casters])
        radii = np.array([it.radius for it in casters])
        centre = centres.mean(axis=0)
        radius = float(np.max(np.sqrt(((centres - centre) ** 2).sum(axis=1)) + radii)) * 1.05
        light_vp = light_view_projection(scene.lights[0].direction, centre, radius)
        ctx = self.ctx
        self.shadow_fbo.use()
        self.shadow_fbo.clear(depth=1.0)
        ctx.front_face = "ccw"
        self.shadow.write("u_light_vp", _mat4_bytes(light_vp))
        for it in casters:
            self.shadow.write("u_model", it.model)
            self._mesh(it.key, SHADOW_LEVEL)["shadow"].render(moderngl.TRIANGLES)
        self._shadow_texel = 2 * radius / self.shadow_map_size
        return light_vp

    def _ids_pass(self, items, uniforms: dict[str, bytes], normals: bool):
        import moderngl

        fbo = self.ids_normals_fbo if normals else self.ids_fbo
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self.ctx.front_face = "cw"
        for name, data in uniforms.items():
            self.ids.write(name, data)
        for it in items:
            self.ids.write("u_model", it.model)
            self.ids.write("u_normal_mat", it.normal_mat)
            self.ids.set("u_class", int(it.obj.class_id))
            self.ids.set("u_instance", int(it.obj.instance_id))
            self._mesh(it.key, it.level)["ids"].render(moderngl.TRIANGLES)

    def _background(self, bg):
        import moderngl

        kind = BACKGROUND_KINDS.get(bg.kind)
        if kind is None:
            raise SegsimError(f"unknown background kind {bg.kind!r}",
                              f"use one of {', '.join(BACKGROUND_KINDS)}")
        p = self.bg_variants[kind]
        p.set("u_size", (float(self.width), float(self.height)))
        p.set("u_color", tuple(float(c) for c in bg.color))
        p.set("u_color2", tuple(float(c) for c in bg.color2))
        p.set("u_scale", float(bg.scale))
        p.set("u_dir", (float(np.cos(bg.angle)), float(np.sin(bg.angle)), 0.0))
        p.set("u_offset", seed_offset(bg.seed))
        if kind == BACKGROUND_KINDS["clutter"]:
            # A walk through one scene keeps its background: build and upload it once, not per frame.
            key = (bg.seed, tuple(bg.color), tuple(bg.color2))
            if key != self.clutter_key:
                img = clutter_image(bg.seed, *self.clutter_size, bg.color, bg.color2)
                self.clutter_tex.write(img.tobytes())
                self.clutter_key = key
            self.clutter_tex.use(3)
            p.set("u_image_scale", (1.0, 1.0))
        if kind == BACKGROUND_KINDS["image"]:
            if not bg.path:
                raise SegsimError("image background without a path", "set background.path")
            tex, w, h = self.images.get(bg.path)
            frame_aspect, image_aspect = self.width / self.height, w / h
            p.set("u_image_scale", (min(1.0, frame_aspect / image_aspect), min(1.0, image_aspect / frame_aspect)))
            tex.use(3)
        # drawn after the objects at the far plane with depth test <=, so llvmpipe's early depth
        # test skips every pixel an object or the ground already covers
        self.ctx.disable(moderngl.CULL_FACE)
        self.ctx.depth_func = "<="
        self.bg_vaos[kind].render(moderngl.TRIANGLES, vertices=3)
        self.ctx.depth_func = "<"
        self.ctx.enable(moderngl.CULL_FACE)

    def _color_pass(self, scene, items, uniforms: dict[str, bytes], normals: bool):
        """Colour (and, single-sample, the labels too). Every pixel is written, by an object or
        by the background, so the label targets need no clear (glClear is undefined on integer
        targets anyway)."""
        import moderngl

        ctx = self.ctx
        fbo = self.color_normals_fbo if normals else self.color_fbo
        fbo.use()
        if self.msaa:
            fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        else:   # depth only: every colour and label pixel is overwritten, so clearing them is wasted fill
            n = len(fbo.color_attachments)
            fbo.color_mask = [(False,) * 4] * n
            fbo.clear(depth=1.0)
            fbo.color_mask = [(True,) * 4] * n
        ctx.front_face = "cw"
        kinds = {self._texture_kind(it.obj.material.texture) for it in items}
        for kind in kinds:
            for name, data in uniforms.items():
                self.lit_variants[kind].write(name, data)
        self.shadow_tex.use(1)
        # grouped by program: a program switch costs llvmpipe more than a few hundred triangles
        for kind, it in sorted(((self._texture_kind(it.obj.material.texture), it) for it in items),
                               key=lambda pair: (pair[1].obj is scene.ground, pair[0])):
            self._set_material(self.lit_variants[kind], kind, it)
            self._mesh(it.key, it.level)["lit"][kind].render(moderngl.TRIANGLES)
        self._background(scene.background)
        if self.msaa:
            self.resolve_fbo.use()
            ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
            self.color_rb.use(5)
            self.resolve_vao.render(moderngl.TRIANGLES, vertices=3)

    @staticmethod
    def _texture_kind(tex) -> int:
        kind = TEXTURE_KINDS.get(tex.kind if tex is not None else None)
        if kind is None:
            raise SegsimError(f"unknown texture kind {tex.kind!r}",
                              f"use one of {', '.join(k for k in TEXTURE_KINDS if k)}")
        return kind

    def _frame_uniforms(self, scene, proj, light_vp) -> dict[str, bytes]:
        """Per-frame uniforms as raw bytes, built once per frame and written to every program the
        frame uses (lit variants, and the id pass on the MSAA path; each ignores what it lacks)."""
        # light 0 is the key light (per pixel, shadowed); 1..3 are fills (per vertex, see
        # scene.vert.glsl); missing ones stay zero
        dirs = np.zeros((MAX_LIGHTS, 3), "f4")
        cols = np.zeros((MAX_LIGHTS, 3), "f4")
        for i, light in enumerate(scene.lights[:MAX_LIGHTS]):
            d = np.asarray(light.direction, float)
            dirs[i] = d / max(math.sqrt(float(d @ d)), 1e-12)
            cols[i] = np.asarray(light.color, float) * float(light.intensity)
        w2c = np.asarray(scene.camera.world_to_camera, float)
        out = {"u_view": _mat4_bytes(w2c), "u_proj": _mat4_bytes(proj), "u_view_rot": _mat3_bytes(w2c),
               "u_key_dir": dirs[0].tobytes(), "u_key_color": cols[0].tobytes(),
               "u_fill_dir": dirs[1:].tobytes(), "u_fill_color": cols[1:].tobytes(),
               "u_ambient": np.asarray(scene.ambient, "f4").tobytes(),
               "u_cam_pos": np.asarray(scene.camera.position, "f4").tobytes(),
               "u_shadows": np.int32(light_vp is not None).tobytes()}
        if light_vp is not None:
            out["u_light_vp"] = _mat4_bytes(light_vp)
            out["u_shadow_texel"] = np.float32(self._shadow_texel).tobytes()
        return out

    def _set_material(self, p: _Program, kind: int, it: _DrawItem):
        m = it.obj.material
        tex = m.texture
        p.write("u_model", it.model)
        p.write("u_normal_mat", it.normal_mat)
        p.set("u_shape_scale", it.shape_scale)
        p.set("u_color", tuple(float(c) for c in m.color))
        p.set("u_specular", float(m.specular))
        p.set("u_shininess", float(m.shininess))
        p.set("u_tex_kind", kind)
        p.set("u_class", int(it.obj.class_id))
        p.set("u_instance", int(it.obj.instance_id))
        if tex is not None:
            p.set("u_color2", tuple(float(c) for c in tex.color2))
            p.set("u_tex_scale", float(tex.scale))
            # stripe / gradient axis: tilted in the object's xz plane by `angle`
            p.set("u_tex_dir", (float(np.cos(tex.angle)), 0.0, float(np.sin(tex.angle))))
            p.set("u_tex_offset", seed_offset(tex.seed))
            p.set("u_extent", bounding_radius(it.obj.shape))
            if kind == TEXTURE_KINDS["image"]:
                if not tex.path:
                    raise SegsimError("image texture without a path", "set the texture's path")
                self.images.get(tex.path)[0].use(2)
            else:
                self.white.use(2)

    # --- public -------------------------------------------------------------------------------
    def render(self, scene, normals: bool = False) -> Frame:
        """Every pass of one frame. Safe to call from any thread (one at a time): an EGL
        context is current in one thread only, so each call makes it current in the caller's
        (a few microseconds) instead of silently drawing nothing elsewhere."""
        with self._lock, self.ctx:
            return self._render(scene, normals)

    def _render(self, scene, normals: bool) -> Frame:
        import cv2
        import moderngl

        if self._released:
            raise SegsimError("this Renderer was released", "create a new Renderer")
        cam = scene.camera
        if (cam.width, cam.height) != (self.width, self.height):
            raise SegsimError(f"scene camera is {cam.width}x{cam.height} but the renderer is "
                              f"{self.width}x{self.height}",
                              "sample the scene at the renderer's size or make a Renderer of that size")
        ctx = self.ctx
        items = self._draw_items(scene)
        proj = projection_from_K(np.asarray(cam.K, float), self.width, self.height, cam.near, cam.far)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.noise_tex.use(4)

        light_vp = self._shadow_pass(scene, items)
        uniforms = self._frame_uniforms(scene, proj, light_vp)
        if self.msaa:
            self._ids_pass(items, uniforms, normals)
        self._color_pass(scene, items, uniforms, normals)

        h, w = self.height, self.width
        ids = np.empty((h, w, 2), np.uint16)
        depth = np.empty((h, w), np.float32)
        rgba = np.empty((h, w, 4), np.uint8)
        if self.msaa:
            fbo, first = (self.ids_normals_fbo if normals else self.ids_fbo), 0
        else:
            fbo, first = (self.color_normals_fbo if normals else self.color_fbo), 1
        fbo.read_into(ids, components=2, attachment=first, dtype="u2")
        fbo.read_into(depth, components=1, attachment=first + 1, dtype="f4")
        normal_img = None
        if normals:
            normal_img = np.empty((h, w, 3), np.float32)
            fbo.read_into(normal_img, components=3, attachment=first + 2, dtype="f4")
        # RGBA, as stored: Mesa reads that with a copy, RGB through a slow per-pixel path (10x)
        self.resolve_fbo.read_into(rgba, components=4, attachment=0)
        rgb = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        if not self.msaa:
            smooth_edges(rgb, ids, depth)
        return Frame(rgb=apply_postfx(rgb, scene.postfx), class_ids=ids[..., 0].astype(np.uint8),
                     instance_ids=np.ascontiguousarray(ids[..., 1]), depth=depth, normals=normal_img)

    def release(self):
        with self._lock, self.ctx:
            self._release()

    def _release(self):
        if self._released:
            return
        for entry in self._gpu_meshes.values():
            _release_mesh_vaos(entry)
            for b in entry["buffers"]:
                b.release()
        self._gpu_meshes.clear()
        self.images.release()
        own = ((self.color_rb, self.color_zbuf, self.color_fbo, self.resolve_fbo, self.resolve_vao,
                self.resolve.prog, self.ids_fbo, self.ids_normals_fbo, self.ids.prog) if self.msaa
               else (self.color_fbo, self.color_normals_fbo))
        for obj in (*own, self.shadow_fbo, self.ids_tex, self.depth_tex, self.normal_tex, self.ids_zbuf,
                    self.resolve_rb, self.shadow_tex, self.white,
                    self.noise_tex, self.clutter_tex,
                    *self.bg_vaos.values(),
                    *(p.prog for p in self.lit_variants.values()),
                    *(p.prog for p in self.bg_variants.values()), self.shadow.prog):
            obj.release()
        self._released = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _release_mesh_vaos(entry: dict):
    for vao in entry["lit"].values():
        vao.release()
    if "ids" in entry:
        entry["ids"].release()
    entry["shadow"].release()


def _inverse_transpose3(m: np.ndarray) -> np.ndarray:
    """inv(A).T of the upper-left 3x3 A of `m` (the normal matrix), from cofactors in plain
    floats: np.linalg.inv costs ~20 us of LAPACK call overhead, and this runs per object per
    frame. Columns b x c, c x a, a x b of A's columns a, b, c, over det(A)."""
    (a0, b0, c0), (a1, b1, c1), (a2, b2, c2) = m[:3, :3].tolist()
    bc = (b1 * c2 - b2 * c1, b2 * c0 - b0 * c2, b0 * c1 - b1 * c0)
    ca = (c1 * a2 - c2 * a1, c2 * a0 - c0 * a2, c0 * a1 - c1 * a0)
    ab = (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
    det = a0 * bc[0] + a1 * bc[1] + a2 * bc[2]
    if det == 0.0:
        raise SegsimError("an object's transform is singular (zero scale or flattened axes)",
                          "give every object a non-zero scale along all three axes")
    inv = 1.0 / det
    return np.array([[bc[i] * inv, ca[i] * inv, ab[i] * inv] for i in range(3)])


def _max_scale(m: np.ndarray) -> float:
    """Largest axis scale of a 4x4 (or 3x3) transform: the longest of its first three columns."""
    rows = m[:3, :3].tolist()    # plain floats: numpy's per-call overhead dominates at 3x3
    return math.sqrt(max(sum(row[j] * row[j] for row in rows) for j in range(3)))
