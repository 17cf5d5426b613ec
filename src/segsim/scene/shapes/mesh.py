"""Mesh: a triangle mesh from a file or an asset library, at a real size.

    {"type": "mesh", "path": absolute path, "sha256": of the file, "file_to_object": 4x4,
     "asset": {library, id, name, creator, licence} (library models only), ...}

Vertices in the object frame are `file_to_object @ v` for `v` exactly as
`trimesh.load(path, force="mesh")` returns them: a library model's own rotation applied, the
file's up axis turned to +z, its bounding box centred on the origin (like every other kind) and
scaled to a real size in metres, whatever units the file was written in: the class's `height`
(uniform scale), or the size the catalog records (per axis), or that size scaled to `height`.
The meta keeps path, sha256 and file_to_object (and the asset's credit): enough to recompute
every mask from the dataset alone. The other keys of the dict serve the renderer only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from segsim.assets.lod import LOD_FROM, TARGETS, cached_errors, cached_level, cached_levels
from segsim.assets.meshfile import MESH_FILES, find_mesh_files, mesh_info
from segsim.draws import uniform
from segsim.errors import SegsimError
from segsim.scene.shapes.base import Shape, register_shape

# the file's up axis -> +z (right-handed: y up turns about x by +90 degrees)
UP_TO_Z = {
    "z": np.eye(3),
    "y": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
}


@dataclass(frozen=True)
class Asset:
    """One file a mesh class draws from, and how to stand it up and size it."""

    path: str
    up: str = "y"
    rotation: tuple | None = None  # 3x3 (rows) applied to the file's vertices first
    size: tuple | None = None  # object-frame extents in metres (x, y, z); None: by height only
    credit: tuple | None = None  # ((key, value), ...) for the meta and CREDITS.md


@functools.lru_cache(maxsize=256)
def _file_assets(spec: str | tuple[str, ...], up: str, field: str) -> tuple[Asset, ...]:
    files = find_mesh_files(list(spec) if isinstance(spec, tuple) else spec, field)
    return tuple(Asset(path, up) for path in files)


def _patterns(value) -> tuple:
    return (None,) if value is None else (value,) if isinstance(value, str) else tuple(value)


@functools.lru_cache(maxsize=256)
def _library_assets(
    library: str, categories: tuple, names: tuple, exclude: tuple = ()
) -> tuple[Asset, ...]:
    """The models matching any of the category patterns and any of the name patterns and none
    of the `exclude` name patterns, each once, in a fixed order (patterns in the order given,
    models in the library's order)."""
    import fnmatch

    from segsim.assets.library import model_path, select_assets

    picked, first_error = {}, None
    for category in categories:
        for name in names:
            try:
                found = select_assets(library, category, name)
            except SegsimError as e:  # one pattern pair may match nothing; all of them may not
                first_error = first_error or e
                continue
            for e in found:
                if not any(fnmatch.fnmatchcase(e.name.casefold(), x.casefold()) for x in exclude):
                    picked.setdefault((e.catalog, e.id), e)
    if not picked:
        raise first_error or SegsimError(
            f"every {library} model that matches is excluded by {list(exclude)}",
            "narrow the exclude patterns",
        )
    return tuple(library_asset(e, model_path(e)) for e in picked.values())


def library_asset(entry, path) -> Asset:
    """A library model (an AssetEntry, unpacked at `path`) at the size its catalog records."""
    w, d, h = (v / 100.0 for v in entry.size_cm)  # catalogs record centimetres
    credit = (
        ("library", entry.library),
        ("catalog", entry.catalog),
        ("id", entry.id),
        ("name", entry.name),
        ("creator", entry.creator),
        ("licence", " ".join(entry.licence.split())),
        ("attribution_required", entry.attribution_required),
    )
    return Asset(str(path), "y", entry.model_rotation, (w, d, h), credit)


def mesh_shape(asset: Asset, scale: float = 1.0) -> dict:
    """The shape dict of `asset` times a uniform `scale` (of its unit size)."""
    f2o = np.diag([scale, scale, scale, 1.0]) @ unit_transform(asset)
    shape = {
        "type": "mesh",
        "path": asset.path,
        "sha256": mesh_info(asset.path).sha256,
        "file_to_object": f2o.tolist(),
        "asset_key": [asset.path, asset.up, asset.rotation, asset.size],
        "scale": scale,
    }
    if asset.credit:
        shape["asset"] = dict(asset.credit)
    return shape


def class_assets(spec) -> tuple[Asset, ...]:
    """The assets a mesh class draws from, resolved once per process (globs, library patterns)."""
    if spec.library is not None:
        lib = spec.library
        exclude = () if lib.exclude is None else _patterns(lib.exclude)
        return _library_assets(lib.library, _patterns(lib.category), _patterns(lib.name), exclude)
    assets = spec.assets if isinstance(spec.assets, str) else tuple(spec.assets)
    return _file_assets(assets, spec.up, f"classes.{spec.name}.assets")


def check_assets(cfg) -> None:
    """Resolve every mesh class's files now (globs, library patterns; library models unpacked
    into the cache), so a mistake fails before any output is written."""
    for spec in getattr(cfg, "classes", ()):  # frame sources other than scene configs: none
        if spec.shape == "mesh":
            class_assets(spec)


@functools.lru_cache(maxsize=1024)
def unit_transform(asset: Asset) -> np.ndarray:
    """File -> object frame before the per-object scale: stood up, centred, and sized (the
    catalog size in metres, or a height of 1 when the class gives only a height range)."""
    turn = UP_TO_Z[asset.up] @ (np.asarray(asset.rotation, float) if asset.rotation else np.eye(3))
    turned = mesh_info(asset.path).hull @ turn.T  # the hull holds every extreme of the mesh
    lo, hi = turned.min(axis=0), turned.max(axis=0)
    extent = hi - lo
    if not extent[2] > 0:
        raise SegsimError(
            f"mesh {asset.path} has no extent along its up axis ({asset.up})",
            "set the class's up axis to the file's (y or z)",
        )
    if asset.size is None:
        scale = np.full(3, 1.0 / extent[2])
    else:  # per axis, as the catalog means it; a flat axis keeps the height's scale
        target = np.asarray(asset.size, float)
        scale = np.where(extent > 1e-12, target / np.maximum(extent, 1e-12), target[2] / extent[2])
    m = np.eye(4)
    m[:3, :3] = np.diag(scale) @ turn
    m[:3, 3] = -np.diag(scale) @ (lo + hi) / 2
    return m


@functools.lru_cache(maxsize=4096)
def _unit_hull(asset: Asset) -> np.ndarray:
    """Hull vertices in the unit frame; cached apart from the file, which the LRU may drop."""
    n = unit_transform(asset)
    return mesh_info(asset.path).hull @ n[:3, :3].T + n[:3, 3]


def _asset_of(shape: dict) -> Asset:
    path, up, rotation, size = shape["asset_key"]
    rotation = tuple(tuple(float(v) for v in row) for row in rotation) if rotation else None
    return Asset(path, up, rotation, tuple(float(v) for v in size) if size else None)


@register_shape
class Mesh(Shape):
    name = "mesh"
    fields = ("path", "sha256", "file_to_object")
    needs_spec = True
    double_sided = True  # files may be open or wound either way
    levels = len(TARGETS) + 1  # coarse to fine: decimated (assets/lod.py), then the file itself
    shadow_by_error = True  # decimated levels may stray outside the surface they shadow

    def sample(self, rng, sizes, scale, spec=None):
        if spec is None:
            raise SegsimError("a mesh shape needs its class's assets", "give the class assets")
        assets = class_assets(spec)
        asset = assets[int(rng.integers(len(assets)))]
        if spec.height is not None:  # a height range: uniform scale to a drawn height
            unit_height = asset.size[2] if asset.size else 1.0
            k = uniform(rng, spec.height) * scale / unit_height
        else:  # the catalog's own size
            k = scale
        shape = {**mesh_shape(asset, k), **look_fields(rng, spec)}
        if spec.parts:
            shape["parts"] = part_classes(asset.path, spec)
        return shape

    def describe(self, shape):
        out = super().describe(shape)
        for extra in ("asset", "parts"):
            if extra in shape:
                out[extra] = shape[extra]
        return out

    def draw_groups(self, shape):
        key = self.unit_key_and_scale(shape)[0]
        if "parts" not in shape:
            return [(key, None)]
        groups: dict[int, list[int]] = {}
        for i, part in enumerate(shape["parts"]):
            groups.setdefault(int(part["class_id"]), []).append(i)
        return [(key + (tuple(idx),), cid) for cid, idx in groups.items()]

    def detail_level(self, shape, px_per_metre):
        # part-labelled meshes are drawn whole: decimation may merge parts across a border
        return self.levels - 1 if "parts" in shape else super().detail_level(shape, px_per_metre)

    def bounding_radius(self, shape):
        hull = _unit_hull(_asset_of(shape))
        return float(np.sqrt((hull * hull).sum(axis=1).max()) * shape["scale"])

    def depth_below_centre(self, shape, R):
        hull = _unit_hull(_asset_of(shape))
        return float(-(hull @ np.asarray(R, float)[2]).min() * shape["scale"])

    def unit_key_and_scale(self, shape):
        a = _asset_of(shape)
        k = float(shape["scale"])
        key = ("mesh", a.path, a.up, a.rotation, a.size)
        return key, np.diag([k, k, k, 1.0])

    def unit_mesh(self, key, level):
        """The file at its unit size with its own look (see `look_mesh`); below the top level
        a decimated version, where the file is big enough to have one."""
        base = key[:5]
        vertices, mesh = _unit_vertices(base)
        lod = mesh_level(base, level) if level < self.levels - 1 else None
        whole = look_mesh(vertices, mesh, lod)
        if len(key) == 5:
            return whole
        counts = [len(p.faces) for p in mesh.parts]  # faces come part by part, in file order
        face_part = np.repeat(np.arange(len(counts)), counts)
        if lod is not None:
            face_part = face_part[lod.source_face]
        return select_faces(whole, np.isin(face_part, key[5]))

    def collision_points(self, key, level):
        return _unit_hull(Asset(*key[1:5]))  # the file's hull: no look or decimation needed

    def level_fits(self, shape, level, px_per_metre):
        """Whether decimated level `level` strays from the file by at most LOD_TOLERANCE_PX on
        screen (a level that does not exist never fits; the file itself always does)."""
        if level >= self.levels - 1:
            return True
        error = level_errors(self.unit_key_and_scale(shape)[0])[level]
        tolerance = shape.get("lod_px", LOD_TOLERANCE_PX)  # a generator may allow more
        return error is not None and error * shape["scale"] * px_per_metre <= tolerance


# The renderer's side of a mesh: its file's own look and its levels of detail.

LOD_TOLERANCE_PX = 0.5  # on-screen distance a decimated level may stray from the file


def look_fields(rng, spec) -> dict:
    """How the class wants its meshes drawn, as plain data in the shape dict for the renderer:
    "appearance" ("file" or "random") and, when the class asks for a hue jitter, "hue_shift" in
    turns; drawn only then, so classes without one keep their stream of draws."""
    appearance = getattr(spec, "appearance", "file")
    out = {"appearance": appearance}
    jitter = float(getattr(spec, "hue_jitter", 0.0))
    if appearance == "file" and jitter > 0:
        out["hue_shift"] = float(rng.uniform(-jitter, jitter))
    return out


def _unit_vertices(key: tuple):
    """(the file's vertices in the unit frame of mesh key `key`, the loaded MeshFile)."""
    asset = Asset(*key[1:5])
    n = unit_transform(asset)
    mesh = MESH_FILES.get(asset.path)
    return mesh.vertices @ n[:3, :3].T + n[:3, 3], mesh


@functools.lru_cache(maxsize=4096)
def level_errors(key: tuple) -> tuple:
    """Each level's error (None where there is none): all that choosing a level needs, kept for
    every model a run meets, while the levels themselves stay in a small LRU; read without the
    levels' arrays."""
    name = _levels_name(key)
    return (None,) * len(TARGETS) if name is None else cached_errors(name, _geometry(key))


@functools.lru_cache(maxsize=256)
def mesh_levels(key: tuple) -> tuple:
    """The decimated levels of a unit mesh, coarse to fine (None where there is none): their
    error is in unit-mesh metres, as the renderer draws them. Built once per machine and kept
    in the asset cache (decimation takes up to a second for a big model; loading, milliseconds)."""
    name = _levels_name(key)
    return (None,) * len(TARGETS) if name is None else cached_levels(name, _geometry(key))


@functools.lru_cache(maxsize=256)
def mesh_level(key: tuple, level: int):
    """mesh_levels(key)[level], reading that level alone from the asset cache."""
    name = _levels_name(key)
    return None if name is None else cached_level(name, _geometry(key), level)


def _levels_name(key: tuple) -> str | None:
    """What a unit mesh's levels are cached under; None for a mesh too small to decimate."""
    info = mesh_info(key[1])
    return None if info.faces <= LOD_FROM else f"{info.sha256}-{repr(key[2:])}"


def _geometry(key: tuple):
    """(vertices, faces) of the unit mesh, loaded only when its levels must be built."""

    def make():
        vertices, mesh = _unit_vertices(key)
        return vertices, mesh.faces

    return make


def look_mesh(vertices: np.ndarray, mesh, lod=None):
    """A unit trimesh with the file's look as vertex attributes "color", "uv", "rect" and
    `metadata["texture"]` (what render/meshes.py reads), or bare when the file has none. For a
    decimated level each corner takes the look of its source face at its barycentric weights
    (the rectangle of that face's tile as it is)."""
    import trimesh

    look = mesh.look
    if lod is None and look is None:
        return trimesh.Trimesh(vertices, mesh.faces, process=False)
    if lod is None:
        attrs = {"color": look.color, "uv": look.uv, "rect": look.rect}
        return trimesh.Trimesh(
            vertices[look.vertex_of],
            look.faces,
            vertex_attributes=attrs,
            metadata={"texture": look.texture},
            process=False,
        )
    if look is None:
        return trimesh.Trimesh(lod.vertices, lod.faces, process=False)
    corners = look.faces[lod.source_face]  # (m, 3) look vertices of each source face
    w = lod.weights  # (m, 3 corners, 3 weights)
    color = np.einsum("mcj,mjd->mcd", w, look.color[corners]).reshape(-1, 3)
    uv = np.einsum("mcj,mjd->mcd", w, look.uv[corners]).reshape(-1, 2)
    rect = np.repeat(look.rect[corners[:, 0]], 3, axis=0)
    at = lod.faces.reshape(-1)
    rows = np.hstack([at[:, None], color, uv, rect])
    unique, index = np.unique(rows, axis=0, return_inverse=True)
    attrs = {"color": unique[:, 1:4], "uv": unique[:, 4:6], "rect": unique[:, 6:10]}
    return trimesh.Trimesh(
        lod.vertices[unique[:, 0].astype(np.int64)],
        index.reshape(-1, 3),
        vertex_attributes=attrs,
        metadata={"texture": look.texture},
        process=False,
    )


def part_classes(path: str, spec) -> list[dict]:
    """Every part of the file (by the name trimesh gives its geometry) with its class id: the
    first of the class's `parts` patterns that matches its name, else the class's own."""
    import fnmatch

    out = []
    for name in mesh_info(path).part_names:
        cid = next(
            (
                c
                for pattern, c in spec._part_ids
                if fnmatch.fnmatchcase(name.casefold(), pattern.casefold())
            ),
            spec._class_id,
        )
        out.append({"name": name, "class_id": int(cid)})
    return out


def select_faces(mesh, keep: np.ndarray):
    """The faces of a trimesh where `keep`, with only the vertices (and vertex attributes) they
    use; metadata (the texture) as it is."""
    import trimesh

    faces = np.asarray(mesh.faces)[keep]
    used, remap = np.unique(faces, return_inverse=True)
    attrs = {k: np.asarray(v)[used] for k, v in mesh.vertex_attributes.items()}
    return trimesh.Trimesh(
        np.asarray(mesh.vertices)[used],
        remap.reshape(-1, 3),
        vertex_attributes=attrs,
        metadata=dict(mesh.metadata),
        process=False,
    )
