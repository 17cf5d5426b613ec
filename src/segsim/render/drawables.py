"""What a frame draws: one DrawItem per object (matrices, mesh detail, bounds) and the GPU
vertex arrays of the unit meshes they use."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from segsim.errors import SegsimError
from segsim.render.context import mat3_bytes, mat4_bytes
from segsim.render.meshes import MESHES, bounding_radius, detail_level, shape_to_unit
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


def draw_items(scene) -> list[DrawItem]:
    """The scene's objects, then its ground if it has one."""
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
        z = sum(w * c for w, c in zip(w2c_z[:3], centre, strict=True)) + w2c_z[3] - radius
        px_per_metre = focal * grow / z if z > cam.near else np.inf
        shape_scale = (float(scale[0, 0]), float(scale[1, 1]), float(scale[2, 2]))
        items.append(
            DrawItem(
                key,
                detail_level(obj.shape, px_per_metre),
                mat4_bytes(model),
                mat3_bytes(normal_mat),
                shape_scale,
                obj,
                tuple(centre),
                radius,
                kind_of(obj.shape).double_sided,
            )
        )
    return items


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


class GpuMeshes:
    """Vertex arrays of unit meshes at a detail level, one per program (LRU, as big as MESHES)."""

    def __init__(self, ctx, programs):
        self.ctx = ctx
        self.programs = list(programs)
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()

    def get(self, key: tuple, level: int) -> dict:
        """{program: vertex array} for the mesh `key` at `level`."""
        full_key = (*key, level)
        entry = self._entries.get(full_key)
        if entry is not None:
            self._entries.move_to_end(full_key)
            return entry[1]
        data = MESHES.get(key, level)
        vbo = self.ctx.buffer(data.vertices.tobytes())
        ibo = self.ctx.buffer(data.indices.tobytes())
        full = [(vbo, "3f 3f", "in_pos", "in_normal")]
        positions = [(vbo, "3f 12x", "in_pos")]
        # a program without normals (the shadow pass) binds only the positions
        vaos = {
            p: self.ctx.vertex_array(p.prog, full if "in_normal" in p.names else positions, ibo, 4)
            for p in self.programs
        }
        self._entries[full_key] = ((vbo, ibo), vaos)
        if len(self._entries) > MESHES.capacity:
            _, old = self._entries.popitem(last=False)
            _release(old)
        return vaos

    def release(self):
        for entry in self._entries.values():
            _release(entry)
        self._entries.clear()


def _release(entry: tuple):
    buffers, vaos = entry
    for vao in vaos.values():
        vao.release()
    for b in buffers:
        b.release()
