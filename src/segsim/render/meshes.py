"""Canonical triangle meshes for the analytic shapes of scene/spec.py, built with trimesh.

Each shape is drawn as a *unit* mesh (cached per process) times a scale matrix, so the
thousands of differently-sized boxes, spheres, cylinders and cones of a dataset share a handful
of vertex buffers (one per detail level, see DETAIL). Tori and capsules cannot be scaled
non-uniformly (the tube/hemispheres must stay round), so their unit mesh is also keyed by their
proportions (tube/R, height/radius); the randomizer draws those from a few fixed values so the
LRU cache hits.

Geometry follows spec.py exactly: everything centred at the origin, axes along local z, cone apex
at +h/2, capsule `height` = distance between the hemisphere centres (trimesh's convention; total
length is height + 2 * radius).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from segsim.errors import SegsimError
from segsim.scene.geometry import bounding_radius  # noqa: F401  (re-exported for the renderer)

# Triangle counts are a real cost on llvmpipe (~0.15 us per triangle per pass, even off screen,
# and small triangles make MSAA dearer), so meshes are chosen per draw by how large the shape
# appears: the coarsest level whose silhouette stays within SILHOUETTE_TOLERANCE_PX of the analytic
# shape (sagitta r (1 - cos(step / 2)) in pixels). The coarsest level still keeps facets within
# ~1.5 % of the radius, because depth must stay within 1 % where surfaces are seen at a grazing
# angle (a 12-gon cylinder failed that at 48 px). Levels, coarse to fine:
DETAIL = {
    "sphere": [2, 3, 4],                                      # icosphere subdivisions
    "sections": [24, 48, 96],                                 # cylinder / cone segments
    "torus": [(24, 12), (40, 16), (64, 24)],                  # around the ring, around the tube
    "capsule": [(16, 12), (24, 16), (40, 24)],                # longitude, latitude segments
}
SILHOUETTE_TOLERANCE_PX = 0.25
ICOSPHERE_EDGE = 1.25 * 1.1071   # icosahedron edge angle (rad), with margin for uneven edges
SHADOW_LEVEL = 0                 # shadows never need pixel-exact outlines
SHAPE_TYPES = ("box", "sphere", "cylinder", "cone", "torus", "capsule")


@dataclass(frozen=True)
class MeshData:
    """Interleaved vertex data (x y z nx ny nz, float32) and triangle indices (uint32)."""
    vertices: np.ndarray
    indices: np.ndarray


def _to_mesh_data(mesh) -> MeshData:
    # Split vertices at sharp edges (box corners, cylinder rims) so normals there stay flat,
    # while curved surfaces keep smooth normals.
    smooth = mesh.smooth_shaded
    v = np.asarray(smooth.vertices, np.float32)
    n = np.asarray(smooth.vertex_normals, np.float32)
    return MeshData(np.ascontiguousarray(np.hstack([v, n]), np.float32),
                    np.ascontiguousarray(smooth.faces, np.uint32).ravel())


def _build(key: tuple, level: int) -> MeshData:
    import trimesh.creation as tc

    kind = key[0]
    if kind == "box":
        return _to_mesh_data(tc.box(extents=(1.0, 1.0, 1.0)))
    if kind == "sphere":
        return _to_mesh_data(tc.icosphere(subdivisions=DETAIL["sphere"][level], radius=1.0))
    if kind == "cylinder":
        return _to_mesh_data(tc.cylinder(radius=1.0, height=1.0, sections=DETAIL["sections"][level]))
    if kind == "cone":
        m = tc.cone(radius=1.0, height=1.0, sections=DETAIL["sections"][level])
        m.apply_translation((0.0, 0.0, -0.5))   # trimesh puts the base at z=0; spec centres it
        return _to_mesh_data(m)
    if kind == "torus":
        major, minor = DETAIL["torus"][level]
        return _to_mesh_data(tc.torus(major_radius=1.0, minor_radius=key[1],
                                      major_sections=major, minor_sections=minor))
    if kind == "capsule":
        return _to_mesh_data(tc.capsule(height=key[1], radius=1.0, count=list(DETAIL["capsule"][level])))
    raise AssertionError(kind)


def _fine_enough(step: float, radius_px: float) -> bool:
    return radius_px * (1.0 - np.cos(step / 2)) <= SILHOUETTE_TOLERANCE_PX


def detail_level(shape: dict, px_per_metre: float) -> int:
    """Coarsest mesh level whose silhouette error stays under the tolerance at this scale
    (px_per_metre = focal length / distance; inf gives the finest level)."""
    kind = shape["type"]
    if kind == "box":
        return 0
    top = len(DETAIL["sections"]) - 1
    if not np.isfinite(px_per_metre):
        return top
    for level in range(top + 1):
        if kind == "sphere":
            ok = _fine_enough(ICOSPHERE_EDGE / 2 ** DETAIL["sphere"][level], shape["radius"] * px_per_metre)
        elif kind in ("cylinder", "cone"):
            ok = _fine_enough(2 * np.pi / DETAIL["sections"][level], shape["radius"] * px_per_metre)
        elif kind == "torus":
            major, minor = DETAIL["torus"][level]
            ok = (_fine_enough(2 * np.pi / major, (shape["radius"] + shape["tube"]) * px_per_metre)
                  and _fine_enough(2 * np.pi / minor, shape["tube"] * px_per_metre))
        else:   # capsule
            around, along = DETAIL["capsule"][level]
            ok = (_fine_enough(2 * np.pi / around, shape["radius"] * px_per_metre)
                  and _fine_enough(np.pi / along, shape["radius"] * px_per_metre))
        if ok:
            return level
    return top


def _num(shape: dict, name: str) -> float:
    try:
        value = float(shape[name])
    except (KeyError, TypeError, ValueError):
        raise SegsimError(f"shape {shape!r} needs a numeric {name!r}",
                          f"give {shape.get('type')} shapes a positive {name}") from None
    if not value > 0:
        raise SegsimError(f"shape {shape!r}: {name} must be > 0", f"use a positive {name}")
    return value


def shape_to_unit(shape: dict) -> tuple[tuple, np.ndarray]:
    """Canonical shape dict -> (unit mesh key, 4x4 scale matrix mapping unit mesh to the shape)."""
    kind = shape.get("type")
    if kind == "box":
        ext = shape.get("extents")
        try:
            sx, sy, sz = (float(e) for e in ext)
        except (TypeError, ValueError):
            raise SegsimError(f"box shape {shape!r} needs extents [x, y, z]",
                              "give three positive side lengths") from None
        return ("box",), np.diag([sx, sy, sz, 1.0])
    if kind == "sphere":
        r = _num(shape, "radius")
        return ("sphere",), np.diag([r, r, r, 1.0])
    if kind in ("cylinder", "cone"):
        r, h = _num(shape, "radius"), _num(shape, "height")
        return (kind,), np.diag([r, r, h, 1.0])
    if kind == "torus":
        big, tube = _num(shape, "radius"), _num(shape, "tube")
        return ("torus", round(tube / big, 4)), np.diag([big, big, big, 1.0])
    if kind == "capsule":
        r, h = _num(shape, "radius"), _num(shape, "height")
        return ("capsule", round(h / r, 4)), np.diag([r, r, r, 1.0])
    raise SegsimError(f"unknown shape type {kind!r}", f"use one of {', '.join(SHAPE_TYPES)}")


class MeshCache:
    """Unit meshes by (shape key, level), least recently used evicted past `capacity`."""

    def __init__(self, capacity: int = 96):
        self._items: OrderedDict[tuple, MeshData] = OrderedDict()
        self.capacity = capacity

    def get(self, key: tuple, level: int) -> MeshData:
        full_key = (*key, level)
        if full_key in self._items:
            self._items.move_to_end(full_key)
            return self._items[full_key]
        data = _build(key, level)
        self._items[full_key] = data
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return data


MESHES = MeshCache()   # per process, shared by every Renderer in it
