"""Render targets: the framebuffers a frame is drawn into and read back from.

The labels are exact: (class, instance) in an RG16UI texture, metric z in R32F and camera-frame
normals in RGBA32F, all single sample, never blended or resolved. Two layouts, one interface:
  SingleSampleTargets (msaa 0): colour and labels in one pass with multiple render targets,
      then edges anti-aliased on the CPU from the labels (edge_aa.py);
  MsaaTargets (msaa > 1): the labels in an id pass of their own, and a multisampled colour
      pass resolved by a shader.
"""

from __future__ import annotations

import numpy as np

from segsim.render.context import Program, shader
from segsim.render.edge_aa import smooth_edges

# Where labels.glsl's outputs go: after the colour (lit and background programs), or alone in
# the id pass. GLSL 330 wants literal locations, hence defines.
LABELS_AFTER_COLOR = {"LOC_IDS": 1, "LOC_DEPTH": 2, "LOC_NORMAL": 3}
LABELS_ALONE = {"LOC_IDS": 0, "LOC_DEPTH": 1, "LOC_NORMAL": 2}
MS_UNIT = 5  # texture unit of the multisampled colour in the resolve pass


class _Targets:
    """The label textures and the single-sample RGBA that both layouts read the frame from."""

    id_program: Program | None = None  # draws the labels in a pass of their own, if any

    def __init__(self, ctx, size: tuple[int, int]):
        import moderngl

        self.ctx = ctx
        self.size = size
        self.ids_tex = ctx.texture(size, 2, dtype="u2")
        self.depth_tex = ctx.texture(size, 1, dtype="f4")
        self.normal_tex = ctx.texture(size, 4, dtype="f4")
        for t in (self.ids_tex, self.depth_tex, self.normal_tex):
            t.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.ids_zbuf = ctx.depth_renderbuffer(size)
        self.rgba = ctx.renderbuffer(size, 4)

    def _labels(self, with_color: bool, normals: bool) -> list:
        return (
            ([self.rgba] if with_color else [])
            + [self.ids_tex, self.depth_tex]
            + ([self.normal_tex] if normals else [])
        )

    def _read(self, labels_fbo, first: int, rgba_fbo, normals: bool):
        """(rgb, ids, depth, normals or None), the labels from attachments first.. of labels_fbo."""
        import cv2

        w, h = self.size
        ids = np.empty((h, w, 2), np.uint16)
        depth = np.empty((h, w), np.float32)
        rgba = np.empty((h, w, 4), np.uint8)
        labels_fbo.read_into(ids, components=2, attachment=first, dtype="u2")
        labels_fbo.read_into(depth, components=1, attachment=first + 1, dtype="f4")
        normal_img = None
        if normals:
            normal_img = np.empty((h, w, 3), np.float32)
            labels_fbo.read_into(normal_img, components=3, attachment=first + 2, dtype="f4")
        # RGBA, as stored: Mesa reads that with a copy, RGB through a slow per-pixel path
        rgba_fbo.read_into(rgba, components=4, attachment=0)
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), ids, depth, normal_img

    def release(self):
        for obj in (self.ids_tex, self.depth_tex, self.normal_tex, self.ids_zbuf, self.rgba):
            obj.release()


class SingleSampleTargets(_Targets):
    """Colour at location 0 and the labels at 1-3 of one framebuffer, drawn in one pass."""

    def __init__(self, ctx, size: tuple[int, int]):
        super().__init__(ctx, size)
        self.fbo = ctx.framebuffer(self._labels(True, False), self.ids_zbuf)
        self.normals_fbo = ctx.framebuffer(self._labels(True, True), self.ids_zbuf)

    def draw_labels(self, normals: bool, draw):
        """Nothing to do: the colour pass writes the labels."""

    def begin_color(self, normals: bool):
        fbo = self.normals_fbo if normals else self.fbo
        fbo.use()
        # depth only: every colour and label pixel is overwritten, so clearing them is wasted fill
        # (and glClear is undefined on integer targets)
        n = len(fbo.color_attachments)
        fbo.color_mask = [(False,) * 4] * n
        fbo.clear(depth=1.0)
        fbo.color_mask = [(True,) * 4] * n

    def end_color(self):
        pass

    def read(self, normals: bool):
        rgb, ids, depth, normal_img = self._read(
            self.normals_fbo if normals else self.fbo, 1, self.fbo, normals
        )
        smooth_edges(rgb, ids, depth)
        return rgb, ids, depth, normal_img

    def release(self):
        self.fbo.release()
        self.normals_fbo.release()
        super().release()


class MsaaTargets(_Targets):
    """Labels at 0-2 of a single-sample framebuffer of their own (the id pass), and colour in a
    multisampled framebuffer, resolved into the RGBA by a shader (the plain sample average)."""

    def __init__(self, ctx, size: tuple[int, int], samples: int, scene_vs: str):
        super().__init__(ctx, size)
        self.id_program = Program(
            ctx, scene_vs, shader("ids.frag.glsl", ("labels.glsl",), LABELS_ALONE)
        )
        self.ids_fbo = ctx.framebuffer(self._labels(False, False), self.ids_zbuf)
        self.ids_normals_fbo = ctx.framebuffer(self._labels(False, True), self.ids_zbuf)
        self.color_tex = ctx.texture(size, 4, samples=samples)
        self.color_zbuf = ctx.depth_renderbuffer(size, samples=samples)
        self.color_fbo = ctx.framebuffer([self.color_tex], self.color_zbuf)
        self.resolve_fbo = ctx.framebuffer([self.rgba])
        self.resolve = Program(ctx, shader("background.vert.glsl"), shader("resolve.frag.glsl"))
        self.resolve.set("u_ms", MS_UNIT)
        self.resolve.set("u_samples", samples)
        self.resolve_vao = ctx.vertex_array(self.resolve.prog, [])

    def draw_labels(self, normals: bool, draw):
        """The id pass: `draw(program)` draws every object with the id program."""
        fbo = self.ids_normals_fbo if normals else self.ids_fbo
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        draw(self.id_program)

    def begin_color(self, normals: bool):
        self.color_fbo.use()
        self.color_fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)

    def end_color(self):
        import moderngl

        self.resolve_fbo.use()
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.color_tex.use(MS_UNIT)
        self.resolve_vao.render(moderngl.TRIANGLES, vertices=3)

    def read(self, normals: bool):
        return self._read(
            self.ids_normals_fbo if normals else self.ids_fbo, 0, self.resolve_fbo, normals
        )

    def release(self):
        for obj in (
            self.color_tex,
            self.color_zbuf,
            self.color_fbo,
            self.resolve_fbo,
            self.resolve_vao,
            self.resolve,
            self.ids_fbo,
            self.ids_normals_fbo,
            self.id_program,
        ):
            obj.release()
        super().release()


def make_targets(ctx, size: tuple[int, int], samples: int, scene_vs: str) -> _Targets:
    """MSAA targets with `samples` samples, or single sample for 0."""
    if samples:
        return MsaaTargets(ctx, size, samples, scene_vs)
    return SingleSampleTargets(ctx, size)
