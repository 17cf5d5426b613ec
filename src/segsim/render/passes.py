"""The draw passes of a frame, each with its programs and textures.

Texture units: 1 shadow map, 2 object image (or a mesh file's texture atlas), 3 background
image or clutter, 4 noise (bound by the Renderer), 5 the MSAA colour (targets.py).
"""

from __future__ import annotations

import math

import numpy as np

from segsim.assets.photos import texture_zoom
from segsim.errors import SegsimError
from segsim.render.background import clutter_image, seed_offset
from segsim.render.camera import light_view_projection
from segsim.render.context import Program, mat3_bytes, mat4_bytes, shader
from segsim.render.drawables import DrawItem
from segsim.render.images import photo_background
from segsim.render.meshes import shadow_level, shadow_tolerance
from segsim.render.targets import LABELS_AFTER_COLOR
from segsim.scene.geometry import bounding_radius
from segsim.scene.kinds import BACKGROUND_KINDS, FILE_LOOKS, TEXTURE_KINDS, glsl_defines
from segsim.scene.shapes import kind_of

MAX_LIGHTS = 4
WITH_LABELS = ("common.glsl", "labels.glsl")


def scene_vertex_shader(file_look: bool = False) -> str:
    """The vertex shader of the lit pass and the id pass (with a mesh file's colours and UVs
    passed on for the file-look variants)."""
    return shader(
        "scene.vert.glsl", defines={"FILL_LIGHTS": MAX_LIGHTS - 1, "FILE_LOOK": int(file_look)}
    )


def hue_matrix(turns: float) -> bytes:
    """A rotation of sRGB colours about the grey axis by `turns` of hue (0: the identity)."""
    if turns == 0:
        return mat3_bytes(np.eye(3))
    c, s = math.cos(2 * math.pi * turns), math.sin(2 * math.pi * turns)
    cross = np.array([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]]) / math.sqrt(3)
    return mat3_bytes(c * np.eye(3) + (1 - c) / 3 * np.ones((3, 3)) + s * cross)


def frame_uniforms(scene, proj, shadow: tuple | None) -> dict[str, bytes]:
    """Per-frame uniforms as raw bytes, built once per frame and written to every program the
    frame uses (lit variants, and the id pass on the MSAA path; each ignores what it lacks).
    `shadow`: (light view-projection, texel size) from ShadowPass.draw, or None."""
    # light 0 is the key light (per pixel, shadowed); 1..3 are fills (per vertex, see
    # scene.vert.glsl); missing ones stay zero
    dirs = np.zeros((MAX_LIGHTS, 3), "f4")
    cols = np.zeros((MAX_LIGHTS, 3), "f4")
    wraps = np.zeros(MAX_LIGHTS, "f4")
    for i, light in enumerate(scene.lights[:MAX_LIGHTS]):
        wraps[i] = max(float(light.wrap), 0.0)
        d = np.asarray(light.direction, float)
        dirs[i] = d / max(math.sqrt(float(d @ d)), 1e-12)
        cols[i] = np.asarray(light.color, float) * float(light.intensity)
    w2c = np.asarray(scene.camera.world_to_camera, float)
    out = {
        "u_view": mat4_bytes(w2c),
        "u_proj": mat4_bytes(proj),
        "u_view_rot": mat3_bytes(w2c),
        "u_key_dir": dirs[0].tobytes(),
        "u_key_color": cols[0].tobytes(),
        "u_fill_dir": dirs[1:].tobytes(),
        "u_fill_color": cols[1:].tobytes(),
        "u_key_wrap": wraps[0].tobytes(),
        "u_fill_wrap": wraps[1:].tobytes(),
        "u_ambient": np.asarray(scene.ambient, "f4").tobytes(),
        "u_cam_pos": np.asarray(scene.camera.position, "f4").tobytes(),
        "u_shadows": np.int32(shadow is not None).tobytes(),
        "u_haze": np.float32(haze_of(scene.background)).tobytes(),
        "u_haze_color": np.asarray(scene.background.color, "f4").tobytes(),
    }
    if shadow is not None:
        out["u_light_vp"] = mat4_bytes(shadow[0])
        out["u_shadow_texel"] = np.float32(shadow[1]).tobytes()
    return out


def haze_of(bg) -> float:
    """The haze density a background asks for: skies only (1/m, at least 0)."""
    return max(float(getattr(bg, "haze", 0.0)), 0.0) if bg.kind == "sky" else 0.0


def pixel_to_world(camera) -> np.ndarray:
    """3x3 taking (pixel x, y, 1) to the world direction of that pixel's ray (unnormalised)."""
    w2c = np.asarray(camera.world_to_camera, float)
    return w2c[:3, :3].T @ np.linalg.inv(np.asarray(camera.K, float))


class ShadowPass:
    """Depth only, orthographic from the first light, objects only (the ground receives, and so
    do objects that say they cast no shadow)."""

    def __init__(self, ctx, map_size: int):
        import moderngl

        self.ctx = ctx
        self.map_size = map_size
        self.program = Program(ctx, shader("shadow.vert.glsl"), shader("shadow.frag.glsl"))
        self.tex = ctx.depth_texture((map_size,) * 2)
        self.tex.compare_func = "<="
        # one comparison per pixel (NEAREST): 4-tap PCF buys little at this map resolution
        self.tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.tex.repeat_x = self.tex.repeat_y = False
        self.fbo = ctx.framebuffer(depth_attachment=self.tex)
        self._drawn = None  # (what the map holds, its result): the views of a scene share it

    def draw(self, scene, items: list[DrawItem], meshes) -> tuple | None:
        """(light view-projection, world size of a texel), or None when nothing casts. The map
        depends on the light and the casters only, not on the camera: when they are the same as
        for the map already drawn (another view of the same scene), it is kept as it is."""

        casters = [it for it in items if it.obj is not scene.ground and it.obj.casts_shadow]
        if not scene.lights or not scene.lights[0].cast_shadows or not casters:
            return None
        centres = np.array([it.centre for it in casters])
        radii = np.array([it.radius for it in casters])
        centre = centres.mean(axis=0)
        radius = float(np.max(np.sqrt(((centres - centre) ** 2).sum(axis=1)) + radii)) * 1.05
        direction = tuple(float(d) for d in scene.lights[0].direction)
        texels_per_metre = self.map_size / (2 * radius)
        levels = [shadow_level(it.obj.shape, texels_per_metre) for it in casters]
        drawn = tuple((it.key, it.model, it.double_sided) for it in casters)
        key = (direction, drawn, tuple(levels))
        if self._drawn is not None and self._drawn[0] == key:
            return self._drawn[1]
        light_vp = light_view_projection(direction, centre, radius)
        self.fbo.use()
        self.fbo.clear(depth=1.0)
        self.ctx.front_face = "ccw"
        self.program.write("u_light_vp", mat4_bytes(light_vp))
        texel = 2 * radius / self.map_size
        for it, level in zip(casters, levels, strict=True):
            self.program.write("u_model", it.model)
            tolerance = None
            if getattr(kind_of(it.obj.shape), "shadow_by_error", False):  # mesh files
                scale = max(it.shape_scale)  # unit mesh -> world
                tolerance = shadow_tolerance(texel / scale, it.radius / scale)
            draw_mesh(self.ctx, it, meshes.shadow(it.key, level, tolerance)[self.program])
        self._drawn = (key, (light_vp, texel))
        return self._drawn[1]

    def release(self):
        for obj in (self.fbo, self.tex, self.program):
            obj.release()


def draw_mesh(ctx, it: DrawItem, vao) -> None:
    """One draw call; meshes from files may be open or wound either way, so both of their sides
    are drawn (primitives are closed and wound outward: back faces are culled)."""
    import moderngl

    if it.double_sided:
        ctx.disable(moderngl.CULL_FACE)
        vao.render(moderngl.TRIANGLES)
        ctx.enable(moderngl.CULL_FACE)
    else:
        vao.render(moderngl.TRIANGLES)


def ids_pass(ctx, program: Program, items: list[DrawItem], uniforms: dict[str, bytes], meshes):
    """Labels only (the MSAA path), into the framebuffer the targets made current."""

    ctx.front_face = "cw"
    for name, data in uniforms.items():
        program.write(name, data)
    for it in items:
        program.write("u_model", it.model)
        program.write("u_normal_mat", it.normal_mat)
        program.set("u_class", it.class_id)
        program.set("u_instance", int(it.obj.instance_id))
        draw_mesh(ctx, it, meshes.get(it.key, it.level)[program])


def texture_kind(tex) -> int:
    kind = TEXTURE_KINDS.get(tex.kind if tex is not None else None)
    if kind is None:
        raise SegsimError(
            f"unknown texture kind {tex.kind!r}",
            f"use one of {', '.join(k for k in TEXTURE_KINDS if k)}",
        )
    return kind


class LitPass:
    """Objects and ground in Blinn-Phong, with the labels beside the colour. One program per
    texture kind: llvmpipe executes both sides of uniform branches, so specialised shaders
    cost only what they use. The file-look variants (a mesh drawn in its file's own colours)
    are compiled on first use."""

    def __init__(self, ctx, scene_vs: str):
        self.ctx = ctx
        self.variants = {kind: self._program(scene_vs, kind) for kind in TEXTURE_KINDS.values()}
        self.white = ctx.texture((1, 1), 3, b"\xff\xff\xff")

    def _program(self, vs: str, kind: int) -> Program:
        defines = {**glsl_defines(), **LABELS_AFTER_COLOR, "TEX_KIND": kind}
        p = Program(self.ctx, vs, shader("lit.frag.glsl", WITH_LABELS, defines))
        p.set("u_shadow_map", 1)
        p.set("u_image", 2)
        p.set("u_noise", 4)
        return p

    def variant(self, kind: int) -> Program:
        if kind not in self.variants:
            self.variants[kind] = self._program(scene_vertex_shader(file_look=True), kind)
        return self.variants[kind]

    @staticmethod
    def kind_of(it: DrawItem, mesh) -> int:
        """The program an object is drawn with: its file's own look where the mesh has one and
        the object asks for it (shape "appearance", default "file"), else its material's."""
        if mesh.look is not None and it.obj.shape.get("appearance", "file") == "file":
            return FILE_LOOKS[mesh.look]
        return texture_kind(it.obj.material.texture)

    def draw(
        self, scene, items: list[DrawItem], uniforms: dict[str, bytes], meshes, shadow_tex, images
    ):

        self.ctx.front_face = "cw"
        gpu = [meshes.get(it.key, it.level) for it in items]
        kinds = [self.kind_of(it, mesh) for it, mesh in zip(items, gpu, strict=True)]
        for kind in set(kinds):
            for name, data in uniforms.items():
                self.variant(kind).write(name, data)
        shadow_tex.use(1)
        # grouped by program: a program switch costs llvmpipe more than a few hundred triangles
        for kind, it, mesh in sorted(
            zip(kinds, items, gpu, strict=True),
            key=lambda entry: (entry[1].obj is scene.ground, entry[0]),
        ):
            p = self.variants[kind]
            self._set_material(p, kind, it, images, mesh)
            draw_mesh(self.ctx, it, mesh[p])

    def _set_material(self, p: Program, kind: int, it: DrawItem, images, mesh):
        m = it.obj.material
        tex = m.texture
        p.write("u_model", it.model)
        p.write("u_normal_mat", it.normal_mat)
        p.set("u_shape_scale", it.shape_scale)
        p.set("u_color", tuple(float(c) for c in m.color))
        p.set("u_specular", float(m.specular))
        p.set("u_shininess", float(m.shininess))
        p.set("u_class", it.class_id)
        p.set("u_instance", int(it.obj.instance_id))
        if kind in FILE_LOOKS.values():
            p.write("u_hue", hue_matrix(float(it.obj.shape.get("hue_shift", 0.0))))
            if mesh.texture is not None:
                mesh.texture.use(2)
        elif tex is not None:
            p.set("u_color2", tuple(float(c) for c in tex.color2))
            p.set("u_tex_scale", float(tex.scale))
            # stripe / gradient axis: tilted in the object's xz plane by `angle`
            p.set("u_tex_dir", (float(np.cos(tex.angle)), 0.0, float(np.sin(tex.angle))))
            p.set("u_tex_offset", seed_offset(tex.seed))
            p.set("u_extent", bounding_radius(it.obj.shape))
            if kind == TEXTURE_KINDS["image"]:
                if not tex.path:
                    raise SegsimError("image texture without a path", "set the texture's path")
                crop = None
                if tex.kind == "photo":  # a square crop of the photo, tiled by the shader
                    crop = (tex.seed, texture_zoom(tex.seed), 1.0)
                images.get(tex.path, crop)[0].use(2)
            else:
                self.white.use(2)

    def release(self):
        self.white.release()
        for p in self.variants.values():
            p.release()


class BackgroundPass:
    """Behind the objects: one full-screen triangle at the far plane, drawn after them with
    depth test <=, so llvmpipe's early depth test skips every pixel already covered. One
    program per background kind, as in LitPass."""

    def __init__(self, ctx, size: tuple[int, int]):
        import moderngl

        self.ctx = ctx
        self.size = size
        defines = {**glsl_defines(), **LABELS_AFTER_COLOR}
        vs = shader("background.vert.glsl")
        self.variants = {
            kind: Program(
                ctx, vs, shader("background.frag.glsl", WITH_LABELS, {**defines, "BG_KIND": kind})
            )
            for kind in BACKGROUND_KINDS.values()
        }
        self.vaos = {kind: ctx.vertex_array(p.prog, []) for kind, p in self.variants.items()}
        for p in self.variants.values():
            p.set("u_image", 3)
            p.set("u_noise", 4)
        # clutter is drawn at half resolution (it is soft anyway) and upscaled bilinearly
        self.clutter_size = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        self.clutter_tex = ctx.texture(self.clutter_size, 3, alignment=1)
        self.clutter_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.clutter_key = None  # what clutter_tex holds now; the viewer redraws one scene often
        # a photo background, cropped and resized to the frame on the CPU (images.py)
        self.photo_tex = ctx.texture(size, 3, alignment=1)
        self.photo_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.photo_key = None
        self.sky_tex, self.sky_key = None, None  # the HDR sky of the last sky frame

    def _sky_texture(self, path: str):
        """The HDR sky as a texture, kept while frames use it (a walk stays on one sky)."""
        if self.sky_key != path:
            import moderngl

            from segsim.assets.skies import load_sky

            if self.sky_tex is not None:
                self.sky_tex.release()
            img = load_sky(path).image
            h, w = img.shape[:2]
            data = np.ascontiguousarray(img).tobytes()
            self.sky_tex = self.ctx.texture((w, h), 3, data, alignment=1)
            self.sky_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.sky_tex.repeat_x, self.sky_tex.repeat_y = True, False
            self.sky_key = path
        return self.sky_tex

    def _set_sky(self, p: Program, bg, camera):
        p.write("u_pix_to_world", mat3_bytes(pixel_to_world(camera)))
        p.set("u_sky_hdr", bool(bg.path))
        p.set("u_exposure", float(bg.exposure))
        sun = np.asarray(bg.sun if bg.sun is not None else (0.0, 0.0, -1.0), float)
        p.set("u_sun", tuple(float(x) for x in sun / max(np.linalg.norm(sun), 1e-12)))
        p.set("u_sun_color", tuple(float(c) for c in bg.sun_color))
        if bg.path:
            self._sky_texture(bg.path).use(3)

    def draw(self, bg, images, camera=None):
        import moderngl

        kind = BACKGROUND_KINDS.get(bg.kind)
        if kind is None:
            raise SegsimError(
                f"unknown background kind {bg.kind!r}", f"use one of {', '.join(BACKGROUND_KINDS)}"
            )
        width, height = self.size
        p = self.variants[kind]
        p.set("u_size", (float(width), float(height)))
        p.set("u_color", tuple(float(c) for c in bg.color))
        p.set("u_color2", tuple(float(c) for c in bg.color2))
        p.set("u_scale", float(bg.scale))
        p.set("u_dir", (float(np.cos(bg.angle)), float(np.sin(bg.angle)), 0.0))
        p.set("u_offset", seed_offset(bg.seed))
        if kind == BACKGROUND_KINDS["clutter"]:
            # a walk through one scene keeps its background: build and upload it once
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
            if bg.kind == "photo":  # a crop of the frame's aspect, `scale` of the largest
                key = (bg.path, bg.seed, bg.scale)
                if key != self.photo_key:
                    rgb = photo_background(images.decoded(bg.path), key[1:], self.size)
                    self.photo_tex.write(rgb.tobytes())
                    self.photo_key = key
                self.photo_tex.use(3)
                p.set("u_image_scale", (1.0, 1.0))
            else:  # an image file, cover-fit to the frame
                tex, w, h = images.get(bg.path)
                frame_aspect, image_aspect = width / height, w / h
                p.set(
                    "u_image_scale",
                    (min(1.0, frame_aspect / image_aspect), min(1.0, image_aspect / frame_aspect)),
                )
                tex.use(3)
        if kind == BACKGROUND_KINDS["sky"]:
            if camera is None:
                raise SegsimError("a sky background needs the camera", "pass camera= to draw")
            self._set_sky(p, bg, camera)
        self.ctx.disable(moderngl.CULL_FACE)
        self.ctx.depth_func = "<="
        self.vaos[kind].render(moderngl.TRIANGLES, vertices=3)
        self.ctx.depth_func = "<"
        self.ctx.enable(moderngl.CULL_FACE)

    def release(self):
        if self.sky_tex is not None:
            self.sky_tex.release()
        for obj in (self.clutter_tex, self.photo_tex, *self.vaos.values(), *self.variants.values()):
            obj.release()
