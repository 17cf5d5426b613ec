"""Headless OpenGL renderer (moderngl + EGL): one call draws every pass of a frame.

Passes, all on preallocated framebuffers and cached programs / vertex arrays (passes.py):
  1. shadow: depth-only, orthographic from the first light, objects only (the ground receives);
  2. colour + labels (the default, msaa=0): one single-sample pass with multiple render targets:
             Blinn-Phong RGB, (class, instance) in an RG16UI texture, metric z in R32F and
             optionally camera-frame normals; integer targets are never blended or resolved, so
             labels are exact. Objects first, then the background behind them. The RGB is then
             anti-aliased on the CPU along the edges the label buffers mark (edge_aa.py).
     or, with msaa > 1: an id pass (the same label targets, single sample) and a multisampled
             colour pass resolved by a shader: coverage-based AA at a higher frame time.
The framebuffers of both layouts and their readback are in targets.py; then the RGB
post-effects.

Everything is drawn with image rows going up in GL window space (see camera.py), so readback
needs no flip; that mirror turns front faces clockwise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from segsim.errors import SegsimError
from segsim.render.camera import projection_from_K
from segsim.render.context import get_context
from segsim.render.drawables import GpuMeshes, draw_items, in_view
from segsim.render.passes import (
    MAX_LIGHTS,
    BackgroundPass,
    LitPass,
    ShadowPass,
    frame_uniforms,
    ids_pass,
    scene_vertex_shader,
)
from segsim.render.postfx import apply_postfx
from segsim.render.targets import make_targets
from segsim.scene.kinds import TEXTURE_KINDS

__all__ = ["MAX_LIGHTS", "TEXTURE_KINDS", "Frame", "Renderer", "fbm_tile", "get_context"]

NOISE_SIZE = 128


def fbm_tile(size: int, seed: int = 1234, beta: float = 1.8) -> np.ndarray:
    """Tileable noise with a 1/f^beta spectrum (what fbm approximates), equalised to 0..255.
    Made in the frequency domain, so it wraps seamlessly and carries every octave at once."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    amplitude = f ** (-beta / 2 * 2) * (f > 1.5 / size)  # drop the DC and the lowest ring
    spectrum = amplitude * np.exp(2j * np.pi * rng.random(amplitude.shape))
    img = np.fft.irfft2(spectrum, s=(size, size))
    ranks = np.argsort(np.argsort(img, axis=None))  # histogram equalisation
    return (ranks * (256.0 / ranks.size)).astype(np.uint8).reshape(size, size)


@dataclass
class Frame:
    rgb: np.ndarray  # H x W x 3 uint8, post-effects applied
    class_ids: np.ndarray  # H x W uint8
    instance_ids: np.ndarray  # H x W uint16, 0 = none
    depth: np.ndarray  # H x W float32 metres (camera z), 0 = nothing hit
    normals: np.ndarray | None = None  # H x W x 3 float32, camera frame (OpenCV), 0 = nothing


class Renderer:
    """Renders Scenes of a fixed size. Create one per process and reuse it for every frame."""

    def __init__(self, width: int, height: int, msaa: int = 0, shadow_map_size: int = 1024):
        """`msaa` 0 or 1 (the default): one single-sample pass writes colour and labels together,
        and edges are anti-aliased from the label buffers (edge_aa.py); fastest on llvmpipe.
        `msaa` > 1: multisample anti-aliasing with that many samples (4 on llvmpipe), with the
        labels drawn in a pass of their own; slower on llvmpipe (see bench/bench_render.py),
        close to free on a GPU."""

        if width < 1 or height < 1:
            raise SegsimError(
                f"render size must be positive, got {width}x{height}", "use e.g. 256x256"
            )
        self.width, self.height = int(width), int(height)
        self.ctx = get_context()
        self._lock = threading.Lock()
        with self.ctx:  # current in this thread while we build (see render)
            self._build(msaa, shadow_map_size)

    def _build(self, msaa: int, shadow_map_size: int):
        import moderngl

        ctx = self.ctx
        self.msaa = int(min(max(msaa, 0), int(ctx.max_samples))) if msaa > 1 else 0
        size = (self.width, self.height)
        vs = scene_vertex_shader()
        self.targets = make_targets(ctx, size, self.msaa, vs)
        self.lit = LitPass(ctx, vs)
        # the map is fitted to the shadow casters, so at the frame's own resolution it already
        # gives about one texel per pixel of a caster; the argument is the maximum
        self.shadow = ShadowPass(ctx, int(min(shadow_map_size, max(self.width, self.height))))
        self.background = BackgroundPass(ctx, size)
        self.meshes = GpuMeshes(ctx)
        # fbm-like noise for procedural textures, baked once and tileable; bilinear without
        # mipmaps, since the 1/f spectrum has little energy at the texel scale to alias
        self.noise_tex = ctx.texture((NOISE_SIZE, NOISE_SIZE), 1, fbm_tile(NOISE_SIZE).tobytes())
        self.noise_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.noise_tex.repeat_x = self.noise_tex.repeat_y = True
        from segsim.render.images import ImageTextures

        self.images = ImageTextures(ctx)
        self._released = False

    def render(self, scene, normals: bool = False) -> Frame:
        """Every pass of one frame. Safe to call from any thread (one at a time): an EGL
        context is current in one thread only, so each call makes it current in the caller's
        (a few microseconds) instead of silently drawing nothing elsewhere."""
        with self._lock, self.ctx:
            return self._render(scene, normals)

    def _render(self, scene, normals: bool) -> Frame:
        import moderngl

        if self._released:
            raise SegsimError("this Renderer was released", "create a new Renderer")
        cam = scene.camera
        if (cam.width, cam.height) != (self.width, self.height):
            raise SegsimError(
                f"scene camera is {cam.width}x{cam.height} but the renderer is "
                f"{self.width}x{self.height}",
                "sample the scene at the renderer's size or make a Renderer of that size",
            )
        items = draw_items(scene)
        proj = projection_from_K(
            np.asarray(cam.K, float), self.width, self.height, cam.near, cam.far
        )
        self.ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.noise_tex.use(4)

        shadow = self.shadow.draw(scene, items, self.meshes)
        uniforms = frame_uniforms(scene, proj, shadow)
        seen = in_view(items, cam)
        self.targets.draw_labels(
            normals, lambda p: ids_pass(self.ctx, p, seen, uniforms, self.meshes)
        )
        # every pixel is written, by an object or by the background, so labels need no clear
        self.targets.begin_color(normals)
        self.lit.draw(scene, seen, uniforms, self.meshes, self.shadow.tex, self.images)
        self.background.draw(scene.background, self.images, cam)
        self.targets.end_color()
        rgb, ids, depth, normal_img = self.targets.read(normals)
        class_ids = ids[..., 0].astype(np.uint8)
        sky_class = int(getattr(scene.background, "class_id", 0))
        if sky_class:  # what no object covers is the background's class (e.g. sky)
            class_ids[depth == 0] = sky_class
        return Frame(
            rgb=apply_postfx(rgb, scene.postfx, getattr(scene, "sensor", None)),
            class_ids=class_ids,
            instance_ids=np.ascontiguousarray(ids[..., 1]),
            depth=depth,
            normals=normal_img,
        )

    def release(self):
        with self._lock, self.ctx:
            self._release()

    def _release(self):
        if self._released:
            return
        self.meshes.release()
        self.images.release()
        for part in (self.targets, self.lit, self.background, self.shadow, self.noise_tex):
            part.release()
        self._released = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
