"""Triangle meshes from files (OBJ with MTL, glTF/GLB, PLY, STL, OFF), loaded once per process.

A mesh is loaded with `trimesh.load(path, force="mesh")` (the call the meta's contract names,
so anyone can recompute masks from a dataset) and checked: a file that is missing, does not
parse, holds no triangles (a point cloud, a line set) or has non-finite vertices is a
SegsimError naming the file. Loaded meshes sit in a bounded LRU, so a long run over hundreds of
assets keeps its memory flat.
"""

from __future__ import annotations

import glob
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
CACHE_SIZE = 64  # loaded meshes kept per process


@dataclass(frozen=True)
class MeshFile:
    """One loaded mesh file: its vertices and faces exactly as trimesh returns them."""

    path: str  # absolute
    sha256: str
    vertices: np.ndarray  # V x 3 float64
    faces: np.ndarray  # F x 3 int64
    hull: np.ndarray  # vertices of its convex hull (for support and bounds)


def find_mesh_files(spec: str | list[str], field: str) -> list[str]:
    """A file, a folder (every mesh file below it) or a glob, or a list of them -> absolute
    paths, sorted, so frame i picks the same file in every process."""
    found: set[str] = set()
    for item in [spec] if isinstance(spec, str) else list(spec):
        path = Path(item).expanduser()
        if path.is_dir():
            hits = [p for p in path.rglob("*") if p.suffix.lower() in MESH_SUFFIXES]
        elif path.is_file():
            hits = [path]
        elif glob.has_magic(str(path)):
            hits = [Path(p) for p in glob.glob(str(path), recursive=True)]
        else:
            raise SegsimError(
                f"{field}: no such file or folder: {path}",
                f"point {field} at a mesh file ({', '.join(MESH_SUFFIXES)}), a folder or a glob",
            )
        found.update(str(p.resolve()) for p in hits if p.is_file())
    meshes = sorted(p for p in found if Path(p).suffix.lower() in MESH_SUFFIXES)
    if not meshes:
        raise SegsimError(
            f"{field}: {spec!r} names no mesh file",
            f"use files ending in {', '.join(MESH_SUFFIXES)}",
        )
    return meshes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load(path: str) -> MeshFile:
    import trimesh

    p = Path(path)
    if not p.is_file():
        raise SegsimError(f"mesh file not found: {p}", "check the class's assets path")
    fix = "re-export the model (it may be truncated or corrupt), or remove it from the assets"
    try:
        mesh = trimesh.load(str(p), force="mesh")
    except Exception as e:  # trimesh and its loaders raise many types for broken files
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise SegsimError(f"cannot load mesh {p}: {first}", fix) from e
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), np.int64)
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))), np.float64)
    if faces.ndim != 2 or len(faces) == 0:
        raise SegsimError(
            f"mesh {p} has no triangles (a point cloud, a line set, or an empty file)",
            "use a file with a triangle mesh in it",
        )
    # trimesh drops faces with NaN vertices on load: look at the file as written, too, so a
    # broken export is an error rather than a mesh with holes
    raw = trimesh.load(str(p), force="mesh", process=False)
    if not np.isfinite(vertices).all() or not np.isfinite(np.asarray(raw.vertices)).all():
        raise SegsimError(f"mesh {p} has vertices that are NaN or infinite", fix)
    extent = np.ptp(vertices, axis=0)
    if not (extent > 0).sum() >= 2:
        raise SegsimError(f"mesh {p} is flat to a line or a point", "use a mesh with an area")
    try:
        hull = np.asarray(mesh.convex_hull.vertices, np.float64)
    except Exception:  # degenerate (flat) meshes have no 3D hull: every vertex will do
        hull = vertices
    return MeshFile(str(p.resolve()), _sha256(p), vertices, faces, hull)


class MeshFiles:
    """The process's loaded meshes by path, least recently used dropped past `capacity`."""

    def __init__(self, capacity: int = CACHE_SIZE):
        self.capacity = capacity
        self._items: OrderedDict[str, MeshFile] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, path: str) -> MeshFile:
        item = self._items.get(path)
        if item is not None:
            self.hits += 1
            self._items.move_to_end(path)
            return item
        self.misses += 1
        item = _load(path)
        self._items[path] = item
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return item


MESH_FILES = MeshFiles()  # per process: workers load each asset once
