"""What a frame draws: one DrawItem per object (matrices, mesh detail, bounds) and the GPU
vertex arrays of the unit meshes they use."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from segsim.assets.appearance import MIP_LEVELS
from segsim.errors import SegsimError
from segsim.render.context import mat3_bytes, mat4_bytes
from segsim.render.meshes import (
    MESHES,
    PLAIN_FORMAT,
    VERTEX_FLOATS,
    VERTEX_FORMAT,
    detail_level,
    shadow_stand_in,
    shape_to_unit,
)
from segsim.scene.geometry import bounding_radius
from segsim.scene.shapes import kind_of


@dataclass
class DrawItem:
    key: tuple  # unit mesh key
    level: int  # mesh detail for this draw (see meshes.detail_level)
    model: bytes
    normal_mat: bytes
    shape_scale: tuple
    obj: object  # SceneObject
    centre: tuple  # world position of the object's origin
    radius: float  # world radius of a sphere about `centre` holding the whole object
    double_sided: bool = False  # draw back faces too (meshes from files)
    class_id: int = 0  # what the label targets get: the object's class, or its part's


def draw_items(scene) -> list[DrawItem]:
    """The scene's objects, then its ground if it has one."""
    items = []
    objs = list(scene.objects) + ([scene.ground] if scene.ground is not None else [])
    cam = scene.camera
    w2c_z = np.asarray(cam.world_to_camera, float)[2].tolist()
    focal = float(max(cam.K[0][0], cam.K[1][1]))
    for obj in objs:
        _, scale = shape_to_unit(obj.shape)
        o2w = np.asarray(obj.object_to_world, float)
        model = o2w @ scale
        normal_mat = _inverse_transpose3(model)
        centre = o2w[:3, 3].tolist()
        grow = _max_scale(o2w)
        radius = bounding_radius(obj.shape) * grow
        # nearest point of the bounding sphere sets the on-screen size (inf: camera inside)
        z = sum(w * c for w, c in zip(w2c_z[:3], centre, strict=True)) + w2c_z[3] - radius
        px_per_metre = focal * grow / z if z > cam.near else np.inf
        shape_scale = (float(scale[0, 0]), float(scale[1, 1]), float(scale[2, 2]))
        level = detail_level(obj.shape, px_per_metre)
        kind = kind_of(obj.shape)
        for part_key, part_class in kind.draw_groups(obj.shape):
            items.append(
                DrawItem(
                    part_key,
                    level,
                    mat4_bytes(model),
                    mat3_bytes(normal_mat),
                    shape_scale,
                    obj,
                    tuple(centre),
                    radius,
                    kind.double_sided,
                    int(obj.class_id if part_class is None else part_class),
                )
            )
    return items


def in_view(items: list[DrawItem], camera) -> list[DrawItem]:
    """The items whose bounding sphere reaches into the camera's view (frustum culling): one
    wholly outside it gives no fragment, yet llvmpipe would still shade and clip every vertex
    of it. The shadow pass keeps them all, as casters outside the view shade what is in it."""
    K = np.asarray(camera.K, float)
    w, h = float(camera.width), float(camera.height)
    # rays through the image corners, in the camera frame (OpenCV: z forward)
    corners = np.linalg.solve(K, np.array([[0, w, w, 0], [0, 0, h, h], [1, 1, 1, 1]])).T
    # inward unit normals of the four side planes, which pass through the camera centre
    sides = np.cross(corners, np.roll(corners, -1, axis=0))
    sides *= np.sign(sides @ corners.mean(axis=0))[:, None]
    sides /= np.linalg.norm(sides, axis=1, keepdims=True)
    w2c = np.asarray(camera.world_to_camera, float)
    centres = np.array([it.centre for it in items]).reshape(-1, 3) @ w2c[:3, :3].T + w2c[:3, 3]
    radii = np.array([it.radius for it in items])
    inside = (centres @ sides.T >= -radii[:, None]).all(axis=1)
    inside &= (centres[:, 2] + radii >= camera.near) & (centres[:, 2] - radii <= camera.far)
    return [it for it, keep in zip(items, inside.tolist(), strict=True) if keep]


def _inverse_transpose3(m: np.ndarray) -> np.ndarray:
    """inv(A).T of the upper-left 3x3 A of `m` (the normal matrix), from cofactors in plain
    floats: np.linalg.inv's call overhead dominates at 3x3, and this runs per object per
    frame. Columns b x c, c x a, a x b of A's columns a, b, c, over det(A)."""
    (a0, b0, c0), (a1, b1, c1), (a2, b2, c2) = m[:3, :3].tolist()
    bc = (b1 * c2 - b2 * c1, b2 * c0 - b0 * c2, b0 * c1 - b1 * c0)
    ca = (c1 * a2 - c2 * a1, c2 * a0 - c0 * a2, c0 * a1 - c1 * a0)
    ab = (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
    det = a0 * bc[0] + a1 * bc[1] + a2 * bc[2]
    if det == 0.0:
        raise SegsimError(
            "an object's transform is singular (zero scale or flattened axes)",
            "give every object a non-zero scale along all three axes",
        )
    inv = 1.0 / det
    return np.array([[bc[i] * inv, ca[i] * inv, ab[i] * inv] for i in range(3)])


def _max_scale(m: np.ndarray) -> float:
    """Largest axis scale of a 4x4 (or 3x3) transform: the longest of its first three columns."""
    rows = m[:3, :3].tolist()  # plain floats: numpy's per-call overhead dominates at 3x3
    return math.sqrt(max(sum(row[j] * row[j] for row in rows) for j in range(3)))


class GpuMesh:
    """One unit mesh at one level on the GPU: its buffers, its texture atlas if it has one
    (shared by its levels), and a vertex array per program, made on first use."""

    def __init__(self, ctx, data, texture):
        self.ctx = ctx
        self.vbo = ctx.buffer(data.vertices.tobytes())
        self.ibo = ctx.buffer(data.indices.tobytes())
        self.look = data.look
        self.texture = texture
        self.triangles = data.indices.size // 3
        self.floats = data.vertices.shape[1]  # per vertex: which layout (meshes.py) it has
        self._vaos: dict = {}

    def __getitem__(self, program):
        vao = self._vaos.get(program)
        if vao is None:
            # a program binds the attributes it uses and skips the others (the shadow pass
            # reads positions only, primitives' lit variants no colours or UVs)
            layout = VERTEX_FORMAT if self.floats == VERTEX_FLOATS else PLAIN_FORMAT
            fmt = " ".join(f"{n}f" if a in program.names else f"{4 * n}x" for a, n in layout)
            names = [a for a, _ in layout if a in program.names]
            vao = self.ctx.vertex_array(program.prog, [(self.vbo, fmt, *names)], self.ibo, 4)
            self._vaos[program] = vao
        return vao

    def release(self):
        for vao in self._vaos.values():
            vao.release()
        self.vbo.release()
        self.ibo.release()


class GpuMeshes:
    """Unit meshes at a detail level on the GPU (LRU, as big as MESHES)."""

    PROXIES = 512  # shadow stand-ins kept (a street run asks for ~130; each is small)

    def __init__(self, ctx):
        self.ctx = ctx
        self._entries: OrderedDict[tuple, tuple[GpuMesh, tuple]] = OrderedDict()
        self._textures: dict[tuple, list] = {}  # unit key -> [texture, users]
        self.hits = self.misses = 0  # lookups found here, and those uploaded
        self._proxies: OrderedDict[tuple, GpuMesh | None] = OrderedDict()  # see shadow()

    def get(self, key: tuple, level: int) -> GpuMesh:
        full_key = (*key, level)
        entry = self._entries.get(full_key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(full_key)
            return entry[0]
        self.misses += 1
        data = MESHES.get(key, level)
        texture = None
        if data.texture is not None:
            if key not in self._textures:
                self._textures[key] = [self._texture(data.texture), 0]
            self._textures[key][1] += 1
            texture = self._textures[key][0]
        mesh = GpuMesh(self.ctx, data, texture)
        self._entries[full_key] = (mesh, key)
        # the GPU keeps what the CPU cache keeps (and the entry just made)
        while len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest in MESHES and len(self._entries) <= MESHES.capacity:
                break
            self._drop(*self._entries.pop(oldest))
        return mesh

    def shadow(self, key: tuple, level: int, tolerance: float | None) -> GpuMesh:
        """What the shadow pass draws for a mesh file: its level simplified within `tolerance`
        (meshes.shadow_stand_in), or the level itself where that cannot be done or `tolerance`
        is None. Stand-ins are kept beside the levels, PROXIES at most."""
        if tolerance is None:
            return self.get(key, level)
        full_key = (*key, level, tolerance)
        if full_key not in self._proxies:
            data = shadow_stand_in(key, level, tolerance)
            self._proxies[full_key] = None if data is None else GpuMesh(self.ctx, data, None)
            while len(self._proxies) > self.PROXIES:
                old = self._proxies.pop(next(iter(self._proxies)))
                if old is not None:
                    old.release()
        self._proxies.move_to_end(full_key)
        proxy = self._proxies[full_key]
        return proxy if proxy is not None else self.get(key, level)

    def _texture(self, rgb: np.ndarray):
        import moderngl

        h, w = rgb.shape[:2]
        tex = self.ctx.texture((w, h), 3, np.ascontiguousarray(rgb).tobytes(), alignment=1)
        tex.build_mipmaps(0, MIP_LEVELS)  # coarser ones would mix the atlas's tiles
        tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        tex.repeat_x = tex.repeat_y = False  # the shader wraps UVs into each tile itself
        return tex

    def _drop(self, mesh: GpuMesh, key: tuple):
        mesh.release()
        if mesh.texture is not None:
            self._textures[key][1] -= 1
            if self._textures[key][1] == 0:
                self._textures.pop(key)[0].release()

    def release(self):
        for entry in self._entries.values():
            self._drop(*entry)
        self._entries.clear()
        for proxy in self._proxies.values():
            if proxy is not None:
                proxy.release()
        self._proxies.clear()
