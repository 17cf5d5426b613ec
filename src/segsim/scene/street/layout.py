"""Road layouts as centre-line polylines, the static scenery builder (parts merged into one
compound per class and material) and the 2D occupancy grid that keeps objects apart."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from segsim.cityscapes import BY_NAME
from segsim.scene.shapes.compound import compound_shape, top_height
from segsim.scene.spec import Material, SceneObject

VOID = 255
# scenery no higher than this (road, kerbed sidewalks, terrain) casts no shadow worth its
# triangles: at most a texel or two of the street's shadow map, along a kerb
FLAT_SCENERY_M = 0.2


def train_id(name: str) -> int:
    """The train id of a Cityscapes class name (255 for the ignored ones: static, ground)."""
    return BY_NAME[name].train_id


@dataclass
class Road:
    """A road: centre-line points every `step` metres with their headings (radians)."""

    points: np.ndarray  # (n, 2)
    headings: np.ndarray  # (n,)
    half_width: float
    lanes: int  # each way
    lane_width: float
    step: float

    @property
    def length(self) -> float:
        return self.step * (len(self.points) - 1)

    def __post_init__(self):
        # plain floats: at() runs thousands of times a frame
        self._x = self.points[:, 0].tolist()
        self._y = self.points[:, 1].tolist()
        self._h = self.headings.tolist()
        self.straight = bool(np.ptp(self.headings) == 0)

    def at(self, s: float) -> tuple[float, float, float]:
        """(x, y, heading) at arc length s (clamped to the road)."""
        f = min(max(s / self.step, 0.0), len(self._x) - 1.000001)
        i = int(f)
        t = f - i
        x, y, h = self._x, self._y, self._h
        return (
            x[i] + (x[i + 1] - x[i]) * t,
            y[i] + (y[i + 1] - y[i]) * t,
            h[i] + (h[i + 1] - h[i]) * t,
        )

    def offset(self, s: float, lateral: float) -> tuple[float, float, float]:
        """The point `lateral` metres left of the centre line at s, and the heading there."""
        x, y, h = self.at(s)
        return x - math.sin(h) * lateral, y + math.cos(h) * lateral, h

    def curvature(self, s: float) -> float:
        if self.straight:
            return 0.0
        i = int(min(max(s / self.step, 0.0), len(self._h) - 2))
        return (self._h[i + 1] - self._h[i]) / self.step


def polyline(start, heading: float, segments: list[tuple[float, float]], step: float = 2.0):
    """A polyline from `start`: segments of (length, total turn in radians), sampled every
    `step` metres."""
    pts, hds = [np.asarray(start, float)], [heading]
    x, y = float(start[0]), float(start[1])
    h = heading
    for length, turn in segments:
        n = max(1, int(round(length / step)))
        dh = turn / n
        for _ in range(n):
            mid = h + dh / 2
            x += step * math.cos(mid)
            y += step * math.sin(mid)
            h += dh
            pts.append(np.array([x, y]))
            hds.append(h)
    return np.array(pts), np.array(hds)


@dataclass
class Scenery:
    """Static scenery parts by (class, material name), merged into one compound each."""

    materials: dict[str, Material] = field(default_factory=dict)
    parts: dict[tuple[int, str, str], list] = field(default_factory=dict)

    def add(self, cls: str, material: str, part: dict) -> None:
        key = (train_id(cls), cls, material)
        self.parts.setdefault(key, []).append(part)

    def box(self, cls, material, centre, extents, yaw=0.0):
        part = {"type": "box", "extents": [float(e) for e in extents], "at": _xyz(centre)}
        if yaw:
            part["yaw"] = float(yaw)
        self.add(cls, material, part)

    def strip(self, cls, material, road: Road, s0, s1, lat0, lat1, z0, z1, step=None):
        """Boxes covering the band lat0..lat1 (left of the centre line) from s0 to s1, z0..z1:
        on a straight road one box, on a curve one per polyline step, lengthened on the outside
        so no gap opens."""
        if s1 - s0 <= 0.05:
            return
        step = step or (s1 - s0 if road.straight else road.step)
        n = max(1, int(math.ceil((s1 - s0) / step)))
        ds = (s1 - s0) / n
        mid = 0.5 * (lat0 + lat1)
        for k in range(n):
            s = s0 + (k + 0.5) * ds
            x, y, h = road.offset(s, mid)
            bend = abs(road.curvature(s)) * max(abs(lat0), abs(lat1))
            length = ds * (1 + bend) + (0.3 * bend * ds + 0.02 if bend > 0 else 0.0)
            self.box(cls, material, (x, y, 0.5 * (z0 + z1)), (length, lat1 - lat0, z1 - z0), h)

    def objects(self) -> list[SceneObject]:
        out = []
        for (cid, name, material), parts in sorted(self.parts.items()):
            shape = compound_shape(parts)
            out.append(
                SceneObject(
                    shape=shape,
                    object_to_world=np.eye(4),
                    material=self.materials[material],
                    class_id=cid,
                    class_name=name,
                    casts_shadow=top_height(shape) > FLAT_SCENERY_M,
                )
            )
        return out


def _xyz(p) -> list[float]:
    return [float(p[0]), float(p[1]), float(p[2])]


class Occupancy:
    """A 2D grid over the scene: which cells roads cover and which objects hold, so placed
    footprints (oriented rectangles) never overlap."""

    def __init__(self, lo, hi, cell: float = 0.5):
        self.lo = np.asarray(lo, float)
        self.cell = cell
        # the grid's corner and its first cell's centre, as plain floats (numpy scalars cost
        # more per use)
        self._lx, self._ly = float(self.lo[0]), float(self.lo[1])
        self._x0, self._y0 = self._lx + 0.5 * cell, self._ly + 0.5 * cell
        size = np.ceil((np.asarray(hi, float) - self.lo) / cell).astype(int) + 1
        self.road = np.zeros((size[0], size[1]), bool)  # drivable or walkable: no buildings
        self.taken = np.zeros((size[0], size[1]), bool)

    def _cells(self, cx, cy, hx, hy, yaw):
        # every cell whose centre lies within half a cell diagonal: two footprints that
        # overlap anywhere then share a cell, however small they are
        pad = self.cell * 0.7072
        hx, hy = hx + pad, hy + pad
        c, s = math.cos(yaw), math.sin(yaw)
        ex = abs(c) * hx + abs(s) * hy
        ey = abs(s) * hx + abs(c) * hy
        i0 = int(math.floor((cx - ex - self._lx) / self.cell))
        i1 = int(math.ceil((cx + ex - self._lx) / self.cell))
        j0 = int(math.floor((cy - ey - self._ly) / self.cell))
        j1 = int(math.ceil((cy + ey - self._ly) / self.cell))
        n0, n1 = self.taken.shape
        if i1 < 0 or j1 < 0 or i0 >= n0 or j0 >= n1:
            return None
        i0, j0, i1, j1 = max(i0, 0), max(j0, 0), min(i1, n0 - 1), min(j1, n1 - 1)
        xs = (np.arange(i0, i1 + 1) * self.cell + (self._x0 - cx))[:, None]
        ys = (np.arange(j0, j1 + 1) * self.cell + (self._y0 - cy))[None, :]
        inside = np.abs(c * xs + s * ys) <= hx
        inside &= np.abs(c * ys - s * xs) <= hy
        return (slice(i0, i1 + 1), slice(j0, j1 + 1)), inside

    def _free(self, got, off_road: bool) -> bool:
        if got is None:
            return True
        window, inside = got
        if self.taken[window][inside].any():
            return False
        return not (off_road and self.road[window][inside].any())

    def free(self, cx, cy, hx, hy, yaw, off_road: bool = False) -> bool:
        return self._free(self._cells(cx, cy, hx, hy, yaw), off_road)

    def mark(self, cx, cy, hx, hy, yaw, road: bool = False) -> None:
        got = self._cells(cx, cy, hx, hy, yaw)
        if got is not None:
            window, inside = got
            target = self.road if road else self.taken
            target[window] |= inside

    def place(self, cx, cy, hx, hy, yaw, off_road: bool = False) -> bool:
        """Take the footprint if it is free; whether it was."""
        got = self._cells(cx, cy, hx, hy, yaw)  # once: most of a street's sampling is here
        if not self._free(got, off_road):
            return False
        if got is not None:
            self.taken[got[0]] |= got[1]
        return True

    def mark_strip(self, road: Road, s0, s1, lat0, lat1) -> None:
        step = 1e9 if road.straight else 4.0  # a straight strip is one rectangle
        n = max(1, int(math.ceil((s1 - s0) / step)))
        ds = (s1 - s0) / n
        for k in range(n):
            x, y, h = road.offset(s0 + (k + 0.5) * ds, 0.5 * (lat0 + lat1))
            self.mark(x, y, 0.5 * ds + 0.3, 0.5 * (lat1 - lat0), h, road=True)
