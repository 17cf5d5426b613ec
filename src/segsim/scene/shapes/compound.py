"""Compound: many primitives drawn as one mesh (one draw call), for static scenery.

    {"type": "compound", "primitives": [{"type": "box", "extents": [x, y, z],
                                         "at": [x, y, z], "yaw": radians}, ...]}

Each primitive is a shape of its kind (box, cylinder, cone, sphere; the fields its own module
documents), centred as that kind is, turned by `yaw` about the object's z axis (or by
`rotation`, a 3x3 row-major, where one is given) and moved to `at` (object frame). The meta
lists them that way, so a mask can be recomputed primitive by primitive (the renderer draws
each at its kind's coarsest level). Built by `compound_shape(primitives)`, which also packs
them into the array the renderer reads ("rows", with their bounding "radius"; neither is written
to the meta). Not a kind configs name (it has no size ranges): generators build them (the street
preset's merged scenery).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from segsim.errors import SegsimError
from segsim.scene.shapes.base import Shape, get_shape, register_shape

# part kind -> (code in the packed rows, its fields in order)
PART_KINDS = {
    "box": (1, ("extents",)),
    "cylinder": (2, ("radius", "height")),
    "cone": (3, ("radius", "height")),
    "sphere": (4, ("radius",)),
}
_BY_CODE = {code: name for name, (code, _) in PART_KINDS.items()}
ROW = 16  # code, x, y, z, rotation (9, row-major), a, b, c


def _size(part: dict) -> tuple[float, float, float]:
    """The part's unit-mesh scale along x, y, z (its kind's own scale matrix)."""
    kind = part["type"]
    if kind == "box":
        return tuple(float(e) for e in part["extents"])
    r = float(part["radius"])
    return (r, r, r) if kind == "sphere" else (r, r, float(part["height"]))


def part_rotation(part: dict) -> list[float]:
    """The part's rotation, row-major, as 9 floats."""
    if "rotation" in part:
        return [float(v) for row in part["rotation"] for v in row]
    c, s = math.cos(part.get("yaw", 0.0)), math.sin(part.get("yaw", 0.0))
    return [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0]


def pack(parts: list[dict]) -> np.ndarray:
    """parts -> (n, 16) float64 rows: code, at, rotation, the kind's sizes (a, b, c)."""
    rows = []
    for p in parts:  # plain Python: thousands of parts a frame, numpy per part costs more
        kind = p.get("type")
        if kind not in PART_KINDS:
            raise SegsimError(
                f"compound part of type {kind!r}", f"use one of {', '.join(PART_KINDS)}"
            )
        if kind == "box":
            a, b, c = p["extents"]
        else:
            a, b, c = p["radius"], p.get("height", 0.0), 0.0
        rows.append([PART_KINDS[kind][0], *p["at"], *part_rotation(p), a, b, c])
    return np.array(rows, float).reshape(-1, ROW)


def compound_shape(parts: list[dict]) -> dict:
    """A compound shape dict from part dicts (see the module docstring)."""
    if not parts:
        raise SegsimError("a compound needs at least one part", "leave empty compounds out")
    shape = {"type": "compound", "primitives": parts, "rows": pack(parts)}
    shape["radius"] = _radius(shape["rows"])  # asked for per draw; the parts never change
    return shape


def _rows(shape: dict) -> np.ndarray:
    rows = shape.get("rows")
    return np.asarray(rows, float) if rows is not None else pack(shape["primitives"])


def _scales(rows: np.ndarray) -> np.ndarray:
    """Per row, the unit mesh's scale along x, y, z: a box's extents (a, b, c), a cylinder's or
    cone's (r, r, height) from (a, b), a sphere's (r, r, r)."""
    out = rows[:, 13:16].copy()
    round_ = rows[:, 0] != 1
    out[round_, 2] = np.where(rows[round_, 0] == 4, rows[round_, 13], rows[round_, 14])
    out[round_, 1] = rows[round_, 13]
    return out


def _half_sizes(rows: np.ndarray) -> np.ndarray:
    """Per row, the part's half size along its own x, y, z (a box's half extents; a cylinder's
    or cone's (r, r, height / 2); a sphere's (r, r, r))."""
    half = _scales(rows) * np.where(rows[:, :1] == 1, 0.5, [1.0, 1.0, 0.5])
    sphere = rows[:, 0] == 4
    half[sphere] = rows[sphere, 13:14]
    return half


def _radius(rows: np.ndarray) -> float:
    """The radius about the object's origin of a sphere holding every part."""
    half = np.linalg.norm(_half_sizes(rows), axis=1)
    sphere = rows[:, 0] == 4
    half[sphere] = rows[sphere, 13]  # its half sizes' corner lies outside it
    return float((np.linalg.norm(rows[:, 1:4], axis=1) + half).max())


def top_height(shape: dict) -> float:
    """The highest z any part reaches in the object frame (parts may be turned in any way)."""
    rows = _rows(shape)
    # the z row of each part's rotation (row-major: entries 10..12) weighs its half sizes
    return float((rows[:, 3] + (np.abs(rows[:, 10:13]) * _half_sizes(rows)).sum(axis=1)).max())


@functools.lru_cache(maxsize=16)
def _unit_part(code: int):
    """(positions, normals, flat triangle indices) of a part kind's coarsest unit mesh, split
    at sharp edges as the renderer draws every primitive."""
    kind = get_shape(_BY_CODE[code])
    smooth = kind.unit_mesh((kind.name,), 0).smooth_shaded
    return (
        np.asarray(smooth.vertices, np.float64),
        np.asarray(smooth.vertex_normals, np.float64),
        np.asarray(smooth.faces, np.int64).ravel(),
    )


def vertex_arrays(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions (n, 3) float32, unit normals (n, 3) float32, indices uint32) of every part,
    in the object frame: each part's unit mesh scaled, turned by its yaw and moved."""
    positions, normals, indices = [], [], []
    base = 0
    codes = rows[:, 0]
    for code in sorted(set(codes.astype(int).tolist())):
        group = rows[codes == code]
        up, un, ui = _unit_part(code)
        m, k = len(group), len(up)
        s = _scales(group)  # (m, 3)
        rot = group[:, 4:13].reshape(m, 3, 3)
        # vertex v of part m goes to R_m (S_m v) + at_m: one matrix product over all parts,
        # (k, 3) by (3, m * 3), is far cheaper than m small ones
        to_obj = (rot * s[:, None, :]).transpose(2, 0, 1).reshape(3, m * 3)  # [j, (m, i)]
        p = (up @ to_obj).reshape(k, m, 3).transpose(1, 0, 2) + group[:, None, 1:4]
        if code == PART_KINDS["box"][0]:  # axis normals keep their axis under any scale
            n = (un @ rot.transpose(2, 0, 1).reshape(3, m * 3)).reshape(k, m, 3)
        else:  # normals take the inverse scale, then length 1 again
            n = (un @ (rot / s[:, None, :]).transpose(2, 0, 1).reshape(3, m * 3)).reshape(k, m, 3)
            n /= np.sqrt((n * n).sum(axis=2, keepdims=True))
        positions.append(p.reshape(-1, 3))
        normals.append(n.transpose(1, 0, 2).reshape(-1, 3))
        indices.append((ui[None] + base + k * np.arange(m)[:, None]).ravel())
        base += m * k
    return (
        np.concatenate(positions).astype(np.float32),
        np.concatenate(normals).astype(np.float32),
        np.concatenate(indices).astype(np.uint32),
    )


@register_shape
class Compound(Shape):
    name = "compound"
    fields = ("primitives",)
    needs_spec = True  # never a distractor: nothing to draw it from
    configurable = False  # configs cannot name it: the generators build its parts

    def sample(self, rng, sizes, scale, spec=None):
        raise SegsimError("compound shapes are built by a generator", "use box, cylinder, ...")

    def describe(self, shape):
        return {"type": "compound", "primitives": shape["primitives"]}

    def bounding_radius(self, shape):
        radius = shape.get("radius")
        return float(radius) if radius is not None else _radius(_rows(shape))

    def depth_below_centre(self, shape, R):
        R = np.asarray(R, float)
        deepest = -math.inf
        for p, row in zip(shape["primitives"], _rows(shape), strict=True):
            below = get_shape(p["type"]).depth_below_centre(p, R @ row[4:13].reshape(3, 3))
            deepest = max(deepest, below - float(R[2] @ row[1:4]))
        return deepest

    def unit_key_and_scale(self, shape):
        return ("compound", _rows(shape).tobytes()), np.eye(4)

    def vertex_arrays(self, key, level):
        """What the renderer draws, built straight from the rows (a trimesh of thousands of
        parts would take it ~100 ms to split at sharp edges; the parts come split already)."""
        return vertex_arrays(np.frombuffer(key[1]).reshape(-1, ROW))

    def unit_mesh(self, key, level):
        import trimesh

        positions, normals, indices = self.vertex_arrays(key, level)
        return trimesh.Trimesh(
            positions, indices.reshape(-1, 3), vertex_normals=normals, process=False
        )
