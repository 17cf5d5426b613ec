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

from segsim.assets.meshfile import MESH_FILES, find_mesh_files
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
        "sha256": MESH_FILES.get(asset.path).sha256,
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
    turned = MESH_FILES.get(asset.path).vertices @ turn.T
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


def _unit_hull(asset: Asset) -> np.ndarray:
    n = unit_transform(asset)
    return MESH_FILES.get(asset.path).hull @ n[:3, :3].T + n[:3, 3]


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
        return mesh_shape(asset, k)

    def describe(self, shape):
        out = super().describe(shape)
        if "asset" in shape:
            out["asset"] = shape["asset"]
        return out

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
        import trimesh

        asset = Asset(*key[1:5])
        n = unit_transform(asset)
        mesh = MESH_FILES.get(asset.path)
        return trimesh.Trimesh(mesh.vertices @ n[:3, :3].T + n[:3, 3], mesh.faces, process=False)
