"""Triangle meshes for the shapes of a Scene, as vertex data for the renderer.

Each shape is drawn as a *unit* mesh (cached per process) times a scale matrix, so the
thousands of differently-sized shapes of a dataset share a handful of vertex buffers. The shape
kinds (scene/shapes/) build the unit meshes with trimesh and choose the detail level per draw by
how large the shape appears; this module turns them into interleaved vertex buffers and caches them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from segsim.scene.geometry import bounding_radius  # noqa: F401  (re-exported for the renderer)
from segsim.scene.shapes import get_shape, kind_of

SHADOW_LEVEL = 0  # shadows never need pixel-exact outlines


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
    return MeshData(
        np.ascontiguousarray(np.hstack([v, n]), np.float32),
        np.ascontiguousarray(smooth.faces, np.uint32).ravel(),
    )


def _build(key: tuple, level: int) -> MeshData:
    return _to_mesh_data(get_shape(key[0]).unit_mesh(key, level))


def detail_level(shape: dict, px_per_metre: float) -> int:
    """Coarsest mesh level whose silhouette error stays under the tolerance at this scale
    (px_per_metre = focal length / distance; inf gives the finest level)."""
    return kind_of(shape).detail_level(shape, px_per_metre)


def shape_to_unit(shape: dict) -> tuple[tuple, np.ndarray]:
    """Canonical shape dict -> (unit mesh key, 4x4 scale matrix mapping unit mesh to the shape)."""
    return kind_of(shape).unit_key_and_scale(shape)


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


MESHES = MeshCache()  # per process, shared by every Renderer in it
