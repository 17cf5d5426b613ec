"""Triangle meshes from files (OBJ with MTL, glTF/GLB, PLY, STL, OFF), loaded once per process.

A mesh's vertices and faces are exactly those of `trimesh.load(path, force="mesh")` (the call
the meta's contract names, so anyone can recompute masks from a dataset): that call is
`load_scene(path).to_mesh()`, the parts of `scene.dump()` appended in order, which is what
`_load` does itself so that it keeps the parts' own colours and textures (`look`, see
appearance.py). A file that is missing, does not parse, holds no triangles (a point cloud, a
line set) or has non-finite vertices is a SegsimError naming the file; a texture that will not
decode is only a warning. Loaded meshes sit in a bounded LRU, so a long run over hundreds of
assets keeps its memory flat.
"""

from __future__ import annotations

import functools
import glob
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segsim.assets.appearance import FileLook, check_textures, file_look
from segsim.errors import SegsimError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
CACHE_SIZE = 256  # loaded meshes kept per process (a library model takes about a megabyte)


@dataclass(frozen=True)
class MeshFile:
    """One loaded mesh file: its vertices and faces exactly as trimesh returns them."""

    path: str  # absolute
    sha256: str
    vertices: np.ndarray  # V x 3 float64
    faces: np.ndarray  # F x 3 int64
    hull: np.ndarray  # vertices of its convex hull (for support and bounds)
    parts: tuple = ()  # the dumped trimesh parts, whose vertices and faces these are

    @functools.cached_property
    def look(self) -> FileLook | None:
        """The file's own colours and texture, built on first use (None: it has none)."""
        return file_look(self.path, list(self.parts))


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
        scene = trimesh.load_scene(str(p))
        check_textures(scene, str(p))  # before dump() copies the images, which decodes them
        parts = tuple(g for g in scene.dump() if isinstance(g, trimesh.Trimesh))
    except Exception as e:  # trimesh and its loaders raise many types for broken files
        first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise SegsimError(f"cannot load mesh {p}: {first}", fix) from e
    if parts:  # what to_mesh() (force="mesh") does with them
        vertices, faces = trimesh.util.append_faces(
            [g.vertices.copy() for g in parts], [g.faces.copy() for g in parts]
        )
    else:
        vertices, faces = np.zeros((0, 3)), np.zeros((0, 3))
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    vertices = np.asarray(vertices, np.float64).reshape(-1, 3)
    if len(faces) == 0:
        raise SegsimError(
            f"mesh {p} has no triangles (a point cloud, a line set, or an empty file)",
            "use a file with a triangle mesh in it",
        )
    # trimesh drops faces with NaN vertices on load: look at the file as written, too, so a
    # broken export is an error rather than a mesh with holes
    raw = trimesh.load_scene(str(p), process=False)
    finite = all(np.isfinite(np.asarray(g.vertices)).all() for g in raw.geometry.values())
    if not np.isfinite(vertices).all() or not finite:
        raise SegsimError(f"mesh {p} has vertices that are NaN or infinite", fix)
    extent = np.ptp(vertices, axis=0)
    if not (extent > 0).sum() >= 2:
        raise SegsimError(f"mesh {p} is flat to a line or a point", "use a mesh with an area")
    try:
        hull = np.asarray(trimesh.Trimesh(vertices, faces).convex_hull.vertices, np.float64)
    except Exception:  # degenerate (flat) meshes have no 3D hull: every vertex will do
        hull = vertices
    return MeshFile(str(p.resolve()), _sha256(p), vertices, faces, hull, parts)


class MeshFiles:
    """The process's loaded meshes by path, least recently used dropped past `capacity`."""

    def __init__(self, capacity: int = CACHE_SIZE):
        self.capacity = capacity
        self._items: OrderedDict[str, MeshFile] = OrderedDict()
        self.misses = 0  # files loaded whole (bench/bench_objects.py reports them)

    def get(self, path: str) -> MeshFile:
        item = self._items.get(path)
        if item is not None:
            self._items.move_to_end(path)
            return item
        self.misses += 1
        item = _load(path)
        self._items[path] = item
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return item


MESH_FILES = MeshFiles()  # per process: workers load each asset once

INFO_VERSION = 2  # bump when what MeshInfo holds, or how it is computed, changes


@dataclass(frozen=True)
class MeshInfo:
    """What placing a mesh needs, without loading it: the file's sha256, the vertices of its
    convex hull (the extremes of any linear map of the mesh lie among them) and its size."""

    path: str
    sha256: str
    hull: np.ndarray
    faces: int
    part_names: tuple[str, ...] = ()  # the file's parts, as trimesh.load(path, force="scene") names
    # their geometry, in the order their faces come in the whole mesh


@functools.lru_cache(maxsize=4096)
def mesh_info(path: str) -> MeshInfo:
    """MeshInfo of a mesh file, from the asset cache when an earlier process loaded that very
    file (same path, size and modification time), else from loading it (and checking it)."""
    from segsim.assets.cache import cache_dir
    from segsim.fileio import atomic_path

    st = Path(path).stat() if Path(path).is_file() else None
    if st is None:
        return _info_of(MESH_FILES.get(path))  # raises the error naming the file
    tag = f"{INFO_VERSION}:{Path(path).resolve()}:{st.st_size}:{st.st_mtime_ns}"
    cached = cache_dir() / "meshinfo" / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.npz"
    if cached.is_file():
        try:
            with np.load(cached) as d:
                names = tuple(str(n) for n in d["part_names"])
                return MeshInfo(str(d["path"]), str(d["sha256"]), d["hull"], int(d["faces"]), names)
        except (OSError, ValueError, KeyError):  # a damaged entry: load the file again
            pass
    info = _info_of(MESH_FILES.get(path))
    with atomic_path(cached, suffix=".tmp.npz") as tmp:
        np.savez(
            tmp,
            path=info.path,
            sha256=info.sha256,
            hull=info.hull,
            faces=info.faces,
            part_names=np.array(info.part_names, dtype=str),
        )
    return info


def _info_of(mesh: MeshFile) -> MeshInfo:
    names = tuple(str(p.metadata.get("name", i)) for i, p in enumerate(mesh.parts))
    return MeshInfo(mesh.path, mesh.sha256, mesh.hull, len(mesh.faces), names)
