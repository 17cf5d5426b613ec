"""Mesh: a triangle mesh from a file, at a real size.

    {"type": "mesh", "path": absolute path, "sha256": of the file, "up": "y" | "z",
     "height": metres, "file_to_object": 4x4}

Vertices in the object frame are `file_to_object @ v` for `v` exactly as
`trimesh.load(path, force="mesh")` returns them: the file's up axis turned to +z, its bounding
box centred on the origin (like every other kind), and scaled so its height is `height` metres,
whatever units the file was written in. The meta keeps path, sha256 and file_to_object: enough
to recompute every mask from the dataset alone.
"""

from __future__ import annotations

import functools

import numpy as np

from segsim.assets.meshfile import MESH_FILES, find_mesh_files
from segsim.draws import uniform
from segsim.errors import SegsimError
from segsim.scene.shapes.base import Shape, register_shape

# the file's up axis -> +z (right-handed: y up turns about x by +90 degrees)
UP_TO_Z = {
    "z": np.eye(4),
    "y": np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
}


@functools.lru_cache(maxsize=256)
def _assets(spec: str | tuple[str, ...], field: str) -> tuple[str, ...]:
    return tuple(find_mesh_files(list(spec) if isinstance(spec, tuple) else spec, field))


@functools.lru_cache(maxsize=1024)
def unit_transform(path: str, up: str) -> np.ndarray:
    """File -> unit frame: up axis to +z, bounding box centred on the origin, height 1."""
    mesh = MESH_FILES.get(path)
    turned = mesh.vertices @ UP_TO_Z[up][:3, :3].T
    lo, hi = turned.min(axis=0), turned.max(axis=0)
    height = float(hi[2] - lo[2])
    if not height > 0:
        raise SegsimError(
            f"mesh {path} has no extent along its up axis ({up})",
            "set the class's up axis to the file's (y or z)",
        )
    centre = np.eye(4)
    centre[:3, 3] = -(lo + hi) / 2
    return np.diag([1 / height] * 3 + [1.0]) @ centre @ UP_TO_Z[up]


def _unit_hull(path: str, up: str) -> np.ndarray:
    n = unit_transform(path, up)
    return MESH_FILES.get(path).hull @ n[:3, :3].T + n[:3, 3]


@register_shape
class Mesh(Shape):
    name = "mesh"
    fields = ("path", "sha256", "file_to_object")
    needs_spec = True
    double_sided = True

    def sample(self, rng, sizes, scale, spec=None):
        if spec is None or not spec.assets:
            raise SegsimError("a mesh shape needs its class's assets", "give the class assets")
        assets = spec.assets if isinstance(spec.assets, str) else tuple(spec.assets)
        files = _assets(assets, f"classes.{spec.name}.assets")
        path = files[int(rng.integers(len(files)))]
        height = uniform(rng, spec.height) * scale
        f2o = np.diag([height] * 3 + [1.0]) @ unit_transform(path, spec.up)
        return {
            "type": "mesh",
            "path": path,
            "sha256": MESH_FILES.get(path).sha256,
            "up": spec.up,
            "height": height,
            "file_to_object": f2o.tolist(),
        }

    def bounding_radius(self, shape):
        hull = _unit_hull(shape["path"], shape["up"])
        return float(np.sqrt((hull * hull).sum(axis=1).max()) * shape["height"])

    def depth_below_centre(self, shape, R):
        hull = _unit_hull(shape["path"], shape["up"])
        return float(-(hull @ np.asarray(R, float)[2]).min() * shape["height"])

    def unit_key_and_scale(self, shape):
        h = float(shape["height"])
        return ("mesh", shape["path"], shape["up"]), np.diag([h, h, h, 1.0])

    def unit_mesh(self, key, level):
        import trimesh

        _, path, up = key
        n = unit_transform(path, up)
        mesh = MESH_FILES.get(path)
        return trimesh.Trimesh(mesh.vertices @ n[:3, :3].T + n[:3, 3], mesh.faces, process=False)
