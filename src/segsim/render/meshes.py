"""Triangle meshes for the shapes of a Scene, as vertex data for the renderer.

Each shape is drawn as a *unit* mesh (cached per process) times a scale matrix, so the
thousands of differently-sized shapes of a dataset share a handful of vertex buffers. The shape
kinds (scene/shapes/) build the unit meshes with trimesh and choose the detail level per draw by
how large the shape appears; this module turns them into interleaved vertex buffers and caches them.

A unit mesh that carries its own look (a mesh file's colours and texture: `vertex_attributes`
"color", "uv", "rect" and `metadata["texture"]`, see assets/appearance.py) has the vertex layout
VERTEX_FORMAT: position, normal, UV, colour and the atlas rectangle its UV wraps into. Any other
has PLAIN_FORMAT, position and normal only: the file-look shader variants, the only ones that
read the rest, never draw it.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from segsim.errors import SegsimError
from segsim.scene.shapes import get_shape, kind_of

VERTEX_FORMAT = (("in_pos", 3), ("in_normal", 3), ("in_uv", 2), ("in_color", 3), ("in_rect", 4))
VERTEX_FLOATS = sum(n for _, n in VERTEX_FORMAT)
PLAIN_FORMAT = VERTEX_FORMAT[:2]
# what a mesh's own look needs from the shaders (kinds.FILE_LOOKS)
LOOK_NONE, LOOK_COLOR, LOOK_IMAGE = None, "file_color", "file_image"


@dataclass(frozen=True)
class MeshData:
    """Interleaved vertex data (float32: PLAIN_FORMAT, or VERTEX_FORMAT with a look), triangle
    indices (uint32), and the mesh's own look: None, LOOK_COLOR (vertex colours) or LOOK_IMAGE
    (times `texture`, an H x W x 3 uint8 atlas in GL row order, shared by the levels of one
    mesh)."""

    vertices: np.ndarray
    indices: np.ndarray
    look: str | None = LOOK_NONE
    texture: np.ndarray | None = None


def _to_mesh_data(mesh) -> MeshData:
    if "color" in mesh.vertex_attributes:
        return _with_look(mesh)
    # Split vertices at sharp edges (box corners, cylinder rims) so normals there stay flat,
    # while curved surfaces keep smooth normals.
    smooth = mesh.smooth_shaded
    return _from_arrays(smooth.vertices, smooth.vertex_normals, smooth.faces)


def _from_arrays(positions, normals, indices) -> MeshData:
    """PLAIN_FORMAT vertex data from positions and normals already split at sharp edges
    (compound shapes: thousands of primitives a frame, which smooth_shaded would take ~100 ms
    to split)."""
    data = np.empty((len(positions), 6), np.float32)
    data[:, :3] = positions
    data[:, 3:] = normals
    return MeshData(data, np.ascontiguousarray(indices, np.uint32).ravel())


def _with_look(mesh) -> MeshData:
    """Normals smoothed over the surface (vertices merged by position, split at sharp edges as
    smooth_shaded does), not over the file's vertices, which are split at every UV seam; then
    one vertex per (normal, attributes) pair."""
    import trimesh

    pos = np.asarray(mesh.vertices, np.float64)
    faces = np.asarray(mesh.faces, np.int64)
    points, inverse = np.unique(pos, axis=0, return_inverse=True)
    merged = inverse.reshape(-1)[faces]
    smooth = trimesh.Trimesh(points, merged, process=False).smooth_shaded
    comps = smooth.metadata.get("original_components")
    order = np.concatenate(comps).astype(np.int64) if comps is not None else np.arange(len(faces))
    corner = np.empty_like(faces)
    corner[order] = np.asarray(smooth.faces, np.int64)
    if len(order) != len(faces) or not np.allclose(smooth.vertices[corner], points[merged]):
        # smooth_shade reordered corners in a way we did not expect: plain smooth normals
        corner = merged
        normals = trimesh.Trimesh(points, merged, process=False).vertex_normals
    else:
        normals = smooth.vertex_normals
    pairs, index = np.unique(
        np.stack([corner.ravel(), faces.ravel()], axis=1), axis=0, return_inverse=True
    )
    a = mesh.vertex_attributes
    texture = mesh.metadata.get("texture")
    data = np.hstack(
        [
            pos[pairs[:, 1]],
            np.asarray(normals, np.float64)[pairs[:, 0]],
            np.asarray(a["uv"])[pairs[:, 1]],
            np.asarray(a["color"])[pairs[:, 1]],
            np.asarray(a["rect"])[pairs[:, 1]],
        ]
    )
    return MeshData(
        np.ascontiguousarray(data, np.float32),
        np.ascontiguousarray(index.reshape(-1), np.uint32),
        LOOK_IMAGE if texture is not None else LOOK_COLOR,
        texture,
    )


MESHDATA_VERSION = 1  # bump when VERTEX_FORMAT or how vertex data is built changes


def _cache_path(folder: str, key: tuple, what: str):
    """Where the asset cache keeps `what` of mesh file key `key`, keyed by the file as it is on
    disk (path, size, modification time) and the unit frame."""
    import hashlib
    from pathlib import Path

    from segsim.assets.cache import cache_dir

    st = Path(key[1]).stat()
    tag = f"{MESHDATA_VERSION}:{key!r}:{what}:{st.st_size}:{st.st_mtime_ns}"
    return cache_dir() / folder / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.npz"


def _build(key: tuple, level: int, texture: np.ndarray | None = None) -> MeshData:
    """A primitive's unit mesh is built in milliseconds; a mesh file's vertex data (its look,
    normals split at sharp edges, levels) takes far longer, so it is kept in the asset cache,
    keyed by the file as it is on disk (path, size, modification time) and the unit frame.
    `texture`: the mesh's atlas when another level already holds it (then not read again)."""
    if key[0] != "mesh":
        kind = get_shape(key[0])
        if hasattr(kind, "vertex_arrays"):  # kinds whose parts come split at sharp edges
            return _from_arrays(*kind.vertex_arrays(key, level))
        return _to_mesh_data(kind.unit_mesh(key, level))
    from segsim.fileio import atomic_path

    path = _cache_path("meshdata", key, str(level))
    if path.is_file():
        try:
            with np.load(path) as d:
                look = str(d["look"]) or None
                if "texture" not in d:
                    texture = None
                elif texture is None:
                    texture = d["texture"]
                return MeshData(d["vertices"], d["indices"], look, texture)
        except (OSError, ValueError, KeyError):  # a damaged entry: build it again
            pass
    data = _to_mesh_data(get_shape(key[0]).unit_mesh(key, level))
    arrays = {"vertices": data.vertices, "indices": data.indices, "look": data.look or ""}
    if data.texture is not None:
        arrays["texture"] = data.texture
    with atomic_path(path, suffix=".tmp.npz") as tmp:
        np.savez(tmp, **arrays)
    return data


def detail_level(shape: dict, px_per_metre: float) -> int:
    """Coarsest mesh level whose silhouette error stays under the tolerance at this scale
    (px_per_metre = focal length / distance; inf gives the finest level)."""
    return kind_of(shape).detail_level(shape, px_per_metre)


def shadow_level(shape: dict, texels_per_metre: float) -> int:
    """Mesh detail in the shadow pass, which never needs pixel-exact outlines: a kind's coarsest
    level, as its facets lie inside its surface and cannot shadow it; for kinds whose coarser
    levels may stray outside (`shadow_by_error`: decimated mesh files) the coarsest within about
    a texel of the shadow map, which the shadow offsets absorb."""
    kind = kind_of(shape)
    by_error = getattr(kind, "shadow_by_error", False)  # a Mesh attribute; others lack it
    return kind.detail_level(shape, 0.5 * texels_per_metre if by_error else 0.0)


# A mesh file's stand-in in the shadow pass: its shadow level simplified to a third of its
# triangles, where that strays at most half a map texel from it (measured). Only for models at
# most SHADOW_PROXY_TEXELS across in the map: bigger ones show their shadow's detail, and a
# library of small objects under a fine map (the objects preset) would pay the simplification
# for every model it meets.
SHADOW_PROXY_TEXELS = 24
SHADOW_STRAY_TEXELS = 0.5  # how far (in texels) a stand-in may stray from the level
SHADOW_VERSION = 1  # bump when how a stand-in is made changes: cached ones are then made again


def shadow_tolerance(texel: float, radius: float) -> float | None:
    """How far a model's shadow stand-in may stray (in the unit mesh's units, as `texel` and
    `radius` are): SHADOW_STRAY_TEXELS of a map texel, rounded down to a power of sqrt(2) so
    that a run makes few stand-ins per model; None for a model more than SHADOW_PROXY_TEXELS
    texels across."""
    if texel <= 0 or 2 * radius > SHADOW_PROXY_TEXELS * texel:
        return None
    return 2.0 ** (math.floor(2 * math.log2(SHADOW_STRAY_TEXELS * texel)) / 2)


def shadow_proxy(data: MeshData, tolerance: float) -> MeshData | None:
    """`data` simplified (quadric decimation) to a third of its triangles, as position-only
    vertex data for the shadow pass; None where it would stray from `data` by more than
    `tolerance` (or cannot be made)."""
    try:
        import fast_simplification
    except ImportError:
        return None
    from segsim.assets.lod import Surface, level_error, merge_positions

    faces = data.indices.reshape(-1, 3)
    points, merged = merge_positions(data.vertices[:, :3], faces)
    if len(merged) < 300:
        return None
    pv, pf = fast_simplification.simplify(points, merged.astype(np.int32), target_reduction=0.67)
    pv, pf = np.asarray(pv, np.float64), np.asarray(pf, np.int64)
    if len(pf) == 0 or len(pf) > 0.7 * len(faces):
        return None
    # a coarse sampling of the surface: the error decides on a texel, not a pixel
    if level_error(pv, pf, points, Surface(points, merged, 5000), 5000) > tolerance:
        return None
    return _from_arrays(pv, np.zeros_like(pv), pf)


def shadow_stand_in(key: tuple, level: int, tolerance: float) -> MeshData | None:
    """shadow_proxy of mesh file key `key` at `level`, made once per machine: simplifying and
    measuring it takes ~15 ms, and a street run meets a hundred models. Kept in the asset cache
    (an empty entry where there is none)."""
    from segsim.assets.cache import cached_arrays

    def make() -> dict:
        data = shadow_proxy(MESHES.get(key, level), tolerance)
        if data is None:
            return {"vertices": np.zeros((0, 6), np.float32), "indices": np.zeros(0, np.uint32)}
        return {"vertices": data.vertices, "indices": data.indices}

    path = _cache_path("shadow", key, f"{level}:{SHADOW_VERSION}:{tolerance!r}")
    arrays = cached_arrays(path, make)
    return MeshData(arrays["vertices"], arrays["indices"]) if arrays["indices"].size else None


def shape_to_unit(shape: dict) -> tuple[tuple, np.ndarray]:
    """Canonical shape dict -> (unit mesh key, 4x4 scale matrix mapping unit mesh to the shape)."""
    return kind_of(shape).unit_key_and_scale(shape)


def cache_megabytes(default: int = 512) -> int:
    """The mesh cache's bound in MiB: $SEGSIM_MESH_CACHE_MB, else `default`."""
    text = os.environ.get("SEGSIM_MESH_CACHE_MB", "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SegsimError(
            f"SEGSIM_MESH_CACHE_MB={text!r} is not a positive whole number of MiB",
            "set it to e.g. 512, or unset it",
        )
    return value


class MeshCache:
    """Unit meshes by (shape key, level), least recently used evicted past `capacity` entries
    or `max_bytes` of vertex data and texture atlases. The levels of one mesh file share one
    atlas, held and counted once while any of them is cached."""

    def __init__(self, capacity: int = 4096, max_bytes: int | None = None):
        self._items: OrderedDict[tuple, MeshData] = OrderedDict()
        self.capacity = capacity
        self.max_bytes = max_bytes  # None: cache_megabytes(), read at the first get
        self.bytes = 0
        self._textures: dict[tuple, list] = {}  # unit key -> [atlas, levels cached]
        self._transient: OrderedDict[tuple, MeshData] = OrderedDict()

    # kinds whose meshes are made per scene (compound: a street's merged scenery) are kept
    # apart, a few frames' worth, so they never push out the mesh files every frame reuses
    TRANSIENT_KINDS = ("compound",)
    TRANSIENT_CAPACITY = 96

    def get(self, key: tuple, level: int) -> MeshData:
        full_key = (*key, level)
        if key[0] in self.TRANSIENT_KINDS:
            return self._transient_get(full_key, key, level)
        if full_key in self._items:
            self._items.move_to_end(full_key)
            return self._items[full_key]
        if self.max_bytes is None:
            self.max_bytes = cache_megabytes() << 20
        shared = self._textures.get(key)
        data = _build(key, level, shared[0] if shared else None)
        if shared is not None and data.texture is not None and data.texture is not shared[0]:
            data = replace(data, texture=shared[0])  # built afresh: keep the one atlas
        self._items[full_key] = data
        self.bytes += data.vertices.nbytes + data.indices.nbytes
        if data.texture is not None:
            if shared is None:
                shared = self._textures[key] = [data.texture, 0]
                self.bytes += data.texture.nbytes
            shared[1] += 1
        while len(self._items) > 1 and (
            len(self._items) > self.capacity or self.bytes > self.max_bytes
        ):
            self._evict()
        return data

    def _evict(self):
        full_key, old = self._items.popitem(last=False)
        self.bytes -= old.vertices.nbytes + old.indices.nbytes
        if old.texture is not None:
            key = full_key[:-1]
            shared = self._textures[key]
            shared[1] -= 1
            if shared[1] == 0:
                self.bytes -= self._textures.pop(key)[0].nbytes

    def _transient_get(self, full_key: tuple, key: tuple, level: int) -> MeshData:
        pool = self._transient
        if full_key in pool:
            pool.move_to_end(full_key)
            return pool[full_key]
        data = pool[full_key] = _build(key, level)
        while len(pool) > self.TRANSIENT_CAPACITY:
            pool.popitem(last=False)
        return data

    def __contains__(self, full_key: tuple) -> bool:
        return full_key in self._items or full_key in self._transient


MESHES = MeshCache()  # per process, shared by every Renderer in it
