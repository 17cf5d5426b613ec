"""Canonical triangle meshes for the analytic shapes of scene/spec.py, built with trimesh.

Each shape is drawn as a *unit* mesh (cached once per process) times a scale matrix, so the
thousands of differently-sized boxes, spheres, cylinders and cones of a dataset share four
vertex buffers. Tori and capsules cannot be scaled non-uniformly (the tube/hemispheres must stay
round), so their unit mesh is keyed by their proportions (tube/R, height/radius) and kept in a
small LRU cache; the randomizer draws those proportions from a few fixed values so the cache hits.

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

# Triangle counts are a real cost on llvmpipe (~0.15 us per triangle per pass, even off screen),
# so each mesh is as coarse as the oracle allows: silhouettes within ~0.3 % (sphere, cylinder,
# cone) or ~2 % of the tube radius (distractors) of the analytic shape. The shadow pass uses
# coarser "low" meshes: a shadow's outline never needs pixel accuracy.
SPHERE_SUBDIVISIONS = 3   # 1280 faces: silhouette within 0.25 % of the true sphere's radius
SECTIONS = 48             # cylinder / cone segments: sagitta 0.2 % of the radius
TORUS_SECTIONS = (40, 16)         # around the ring, around the tube
CAPSULE_COUNT = (24, 16)
LOW = {"sphere": 2, "sections": 16, "torus": (16, 8), "capsule": (12, 8)}
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


def _build(key: tuple, low: bool = False) -> MeshData:
    import trimesh.creation as tc

    kind = key[0]
    sections = LOW["sections"] if low else SECTIONS
    if kind == "box":
        return _to_mesh_data(tc.box(extents=(1.0, 1.0, 1.0)))
    if kind == "sphere":
        return _to_mesh_data(tc.icosphere(subdivisions=LOW["sphere"] if low else SPHERE_SUBDIVISIONS,
                                          radius=1.0))
    if kind == "cylinder":
        return _to_mesh_data(tc.cylinder(radius=1.0, height=1.0, sections=sections))
    if kind == "cone":
        m = tc.cone(radius=1.0, height=1.0, sections=sections)
        m.apply_translation((0.0, 0.0, -0.5))   # trimesh puts the base at z=0; spec centres it
        return _to_mesh_data(m)
    if kind == "torus":
        major, minor = LOW["torus"] if low else TORUS_SECTIONS
        return _to_mesh_data(tc.torus(major_radius=1.0, minor_radius=key[1],
                                      major_sections=major, minor_sections=minor))
    if kind == "capsule":
        return _to_mesh_data(tc.capsule(height=key[1], radius=1.0,
                                        count=list(LOW["capsule"] if low else CAPSULE_COUNT)))
    raise AssertionError(kind)


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
    """Unit meshes by key; the four scalable ones are never evicted."""

    def __init__(self, max_variants: int = 64):
        self._items: OrderedDict[tuple, MeshData] = OrderedDict()
        self.max_variants = max_variants

    def get(self, key: tuple, low: bool = False) -> MeshData:
        """Unit mesh for `key`; `low=True` gives the coarse one used for shadows."""
        full_key = (*key, "low") if low else key
        if full_key in self._items:
            self._items.move_to_end(full_key)
            return self._items[full_key]
        data = _build(key, low)
        self._items[full_key] = data
        variants = [k for k in self._items if k[0] in ("torus", "capsule")]
        if len(variants) > self.max_variants:
            del self._items[variants[0]]
        return data


MESHES = MeshCache()   # per process, shared by every Renderer in it
