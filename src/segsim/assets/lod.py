"""Coarser levels of a big triangle mesh, and how far each strays from it.

llvmpipe sets up only a few million triangles a second per thread, so a 30,000-triangle chair
a few dozen pixels tall costs far more than it shows. `build_levels` simplifies a mesh with more
than LOD_FROM triangles to TARGETS of its faces (never below MIN_FACES) two ways -- quadric
decimation, which keeps smooth and boxy shapes close, and vertex clustering, which keeps
foliage (thousands of separate leaves, where quadric decimation deletes whole branches) close
-- and keeps whichever strays less. A level's error is the larger of the greatest distance
from its vertices to the original surface and from the original vertices to its surface (a
Hausdorff distance sampled at the vertices), in the mesh's own units. A renderer may draw a
level wherever that error times pixels per unit stays under half a pixel.

Attributes (colours, UVs) carry over by face: each coarse face takes the original face nearest
its centre, and each of its corners the barycentric weights of its projection onto that face.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

LOD_VERSION = 2  # bump when the decimation or its error changes: cached levels are then rebuilt

TARGETS = (0.05, 0.2, 0.5)  # fractions of the faces, coarse to fine
MIN_FACES = 500
LOD_FROM = 1500  # smaller meshes draw whole (a 4,000-triangle car far off: 8x what it needs)
SHRINK = 0.8  # a level keeps at most this fraction of the next finer one's faces, else none


@dataclass(frozen=True)
class Level:
    vertices: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) int64
    source_face: np.ndarray  # (m,) int64: the original face each face takes attributes from
    weights: np.ndarray  # (m, 3, 3): per corner, barycentric weights in its source face
    error: float  # greatest distance between the two surfaces, in the mesh's units


class Surface:
    """Closest-point queries on a triangle mesh. Each face is sampled so that every point of it
    lies within `cover` of a sample (along its edges at `spacing`, and on a grid inside faces
    too wide for that); a query tries the faces owning its nearest samples, exactly, and widens
    the search until no face it skipped could be nearer (giving up after a few rounds, which
    can only overstate a distance)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, budget: int = 100_000):
        from scipy.spatial import cKDTree

        tri = self.tri = np.asarray(vertices, np.float64)[np.asarray(faces, np.int64)]
        edge = np.roll(tri, -1, axis=1) - tri  # (F, 3, 3): corner k to corner k + 1
        length = np.linalg.norm(edge, axis=-1)
        area = 0.5 * np.linalg.norm(np.cross(edge[:, 0], -edge[:, 2]), axis=1)
        # sample spacing: about `budget` samples on the edges and inside wide faces, together
        h = max(float(np.sqrt(area.sum() / budget)), float(length.sum()) / budget, 1e-12)
        # no point of a triangle is farther than its inradius from its edges
        inradius = 2 * area / np.maximum(length.sum(axis=1), 1e-300)
        self.cover = 1.12 * h  # sqrt(1 + 1/4) h: edge samples h apart, inradius <= h
        points, owner = [], []
        segments = np.minimum(np.ceil(length / h), 256).astype(np.int64).ravel()
        which = np.repeat(np.arange(segments.size), segments)  # (face, corner) per sample
        step = np.arange(which.size) - np.repeat(np.cumsum(segments) - segments, segments)
        t = (step / segments[which])[:, None]
        points.append(tri.reshape(-1, 3)[which] + t * edge.reshape(-1, 3)[which])
        owner.append(which // 3)
        wide = np.flatnonzero(inradius > h)
        steps = np.ceil(0.58 * length[wide].max(axis=1, initial=0) / h).astype(np.int64)
        for n in np.unique(steps):
            group = wide[steps == n]
            i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
            keep = i + j <= n
            w = np.stack([n - i[keep] - j[keep], i[keep], j[keep]], axis=1) / n
            points.append(np.einsum("gk,fkd->fgd", w, tri[group]).reshape(-1, 3))
            owner.append(np.repeat(group, len(w)))
        self.owner = np.concatenate(owner)
        self.tree = cKDTree(np.concatenate(points), balanced_tree=False)

    def closest(self, points: np.ndarray, k: int = 8):
        """(distance, face, barycentric weights) of the nearest point of the faces owning each
        point's k nearest samples: the nearest surface point almost always, and never nearer
        than the true one (a distance may come out too large, never too small)."""
        points = np.asarray(points, np.float64)
        k = min(k, len(self.owner))
        dist = np.empty(len(points))
        face = np.empty(len(points), np.int64)
        bary = np.empty((len(points), 3))
        for s in range(0, len(points), 8192):
            p = points[s : s + 8192]
            _, idx = self.tree.query(p, k=k)
            cand = self.owner[idx.reshape(len(p), -1)]
            q, w = closest_on_triangles(p[:, None, :], self.tri[cand])
            d = np.linalg.norm(q - p[:, None, :], axis=-1)
            best = d.argmin(axis=1)
            r = np.arange(len(p))
            dist[s : s + 8192], face[s : s + 8192], bary[s : s + 8192] = (
                d[r, best],
                cand[r, best],
                w[r, best],
            )
        return dist, face, bary

    def _exact(self, p: np.ndarray) -> float:
        """The true distance from one point to the surface: nearest samples' faces, widened
        until no face left out could be nearer (every face is within `cover` of a sample)."""
        k = 64
        while True:
            k = min(k, len(self.owner))
            far, idx = self.tree.query(p, k=k)
            faces = np.unique(self.owner[np.atleast_1d(idx)])
            q, _ = closest_on_triangles(p[None], self.tri[faces])
            d = float(np.linalg.norm(q - p, axis=-1).min())
            if k == len(self.owner) or d <= np.atleast_1d(far)[-1] - self.cover:
                return d
            k *= 4

    def farthest(self, points: np.ndarray) -> float:
        """The largest distance from any of `points` to the surface, exactly: the quick upper
        bounds of `closest`, then the true distance of the largest, in descending order, until
        one is at least every bound not yet checked."""
        bounds, _, _ = self.closest(points)
        order = np.argsort(-bounds)
        best = 0.0
        for i in order:
            if bounds[i] <= best:
                break
            best = max(best, self._exact(points[i]))
        return best


def closest_on_triangles(p: np.ndarray, tri: np.ndarray):
    """Closest points to `p` (..., 3) on triangles `tri` (..., 3, 3), and their barycentric
    weights: the projection when it falls inside, else the nearest point of the three edges."""
    a, b, c = tri[..., 0, :], tri[..., 1, :], tri[..., 2, :]
    v, w, ok = plane_weights(p, a, b, c)
    inside = ok & (v >= 0) & (w >= 0) & (v + w <= 1)
    best_q = a + v[..., None] * (b - a) + w[..., None] * (c - a)
    best_w = np.stack([1 - v - w, v, w], axis=-1)
    best_d = np.where(inside, np.linalg.norm(best_q - p, axis=-1), np.inf)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        x, y = tri[..., i, :], tri[..., j, :]
        e = y - x
        t = np.clip(((p - x) * e).sum(-1) / np.maximum((e * e).sum(-1), 1e-300), 0.0, 1.0)
        q = x + t[..., None] * e
        d = np.linalg.norm(q - p, axis=-1)
        better = d < best_d
        wt = np.zeros(best_w.shape)
        wt[..., i], wt[..., j] = 1 - t, t
        best_q = np.where(better[..., None], q, best_q)
        best_w = np.where(better[..., None], wt, best_w)
        best_d = np.where(better, d, best_d)
    return best_q, best_w


def plane_weights(p, a, b, c):
    """Barycentric (v, w) of p projected onto the plane of (a, b, c), unclamped, and whether
    the triangle has an area to project onto."""
    ab, ac, ap = b - a, c - a, p - a
    d00, d01, d11 = (ab * ab).sum(-1), (ab * ac).sum(-1), (ac * ac).sum(-1)
    d20, d21 = (ap * ab).sum(-1), (ap * ac).sum(-1)
    den = d00 * d11 - d01 * d01
    ok = den > 1e-12 * np.maximum(d00 * d11, 1e-300)
    safe = np.where(ok, den, 1.0)
    v = np.where(ok, (d11 * d20 - d01 * d21) / safe, 0.0)
    w = np.where(ok, (d00 * d21 - d01 * d20) / safe, 0.0)
    return v, w, ok


def build_levels(vertices: np.ndarray, faces: np.ndarray) -> tuple[Level | None, ...]:
    """One entry per TARGETS fraction, coarse to fine: a Level, or None where the mesh is small
    enough already, the decimation could not get far enough below the next finer level, or
    fast-simplification is not installed."""
    out: list[Level | None] = [None] * len(TARGETS)
    faces = np.asarray(faces, np.int64)
    if len(faces) <= LOD_FROM:
        return tuple(out)
    try:
        import fast_simplification
    except ImportError:
        return tuple(out)
    points, merged = merge_positions(vertices, faces)
    original = Surface(vertices, faces)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    extent = max(float(np.ptp(points, axis=0).max()), 1e-12)
    unit = (points - centre) / extent  # both methods' thresholds are absolute: work at size 1
    finer = len(faces)
    for i in reversed(range(len(TARGETS))):
        target = max(MIN_FACES, int(TARGETS[i] * len(faces)))
        if target > SHRINK * finer:
            continue
        pv, pf = fast_simplification.simplify(unit, merged.astype(np.int32), target_count=target)
        candidates = [
            (np.asarray(pv, np.float64), np.asarray(pf, np.int64)),
            clustered(unit, merged, target),
        ]
        best = None
        for pv, pf in candidates:
            if len(pf) == 0 or len(pf) > SHRINK * finer:
                continue
            pv = pv * extent + centre
            error = level_error(pv, pf, points, original)
            if best is None or error < best[2]:
                best = (pv, pf, error)
        if best is not None:
            out[i] = _level(*best, original)
            finer = len(best[1])
    return tuple(out)


def merge_positions(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points, faces over them): one vertex per position, so that decimation sees the surface,
    not the file's UV seams; faces that collapse are dropped."""
    points, inverse = np.unique(np.asarray(vertices, np.float64), axis=0, return_inverse=True)
    return points, without_collapsed(inverse.reshape(-1)[np.asarray(faces, np.int64)])


def without_collapsed(faces: np.ndarray) -> np.ndarray:
    """The faces whose three corners are distinct vertices."""
    a, b, c = faces.T
    return faces[(a != b) & (b != c) & (c != a)]


def cluster(points: np.ndarray, faces: np.ndarray, cell: float):
    """Vertex clustering: every vertex moves to the mean of the vertices in its grid cube of side
    `cell`; faces that collapse are dropped, and so are repeats (either winding)."""
    cube = np.floor(points / cell).astype(np.int64)
    cube -= cube.min(axis=0)
    span = cube.max(axis=0) + 1
    _, cid = np.unique(
        (cube[:, 0] * span[1] + cube[:, 1]) * span[2] + cube[:, 2], return_inverse=True
    )
    cid = cid.reshape(-1)
    count = np.bincount(cid)
    pv = np.stack([np.bincount(cid, points[:, k]) for k in range(3)], axis=1) / count[:, None]
    pf = without_collapsed(cid[faces])
    _, first = np.unique(np.sort(pf, axis=1), axis=0, return_index=True)
    used, pf = np.unique(pf[np.sort(first)], return_inverse=True)
    return pv[used], pf.reshape(-1, 3).astype(np.int64)


def clustered(points: np.ndarray, faces: np.ndarray, target: int):
    """`cluster` at the finest cell (found by bisection, to 5%) that leaves at most `target`
    faces; `points` span about 1."""
    lo, hi = 1e-4, 1.0
    best = cluster(points, faces, hi)
    while hi / lo > 1.05:
        mid = np.sqrt(lo * hi)
        pv, pf = cluster(points, faces, mid)
        if len(pf) <= target:
            hi, best = mid, (pv, pf)
        else:
            lo = mid
    return best


def level_error(pv, pf, points, original: Surface, budget: int = 100_000) -> float:
    """The Hausdorff distance (at vertices) between a level and `original`; `budget`: samples
    of the level's surface (see Surface)."""
    used = pv[np.unique(pf)]  # the decimation may leave vertices no face uses
    return max(original.farthest(used), Surface(pv, pf, budget).farthest(points))


def _level(pv, pf, error: float, original: Surface) -> Level:
    tri = pv[pf]
    _, source, _ = original.closest(tri.mean(axis=1))
    src = original.tri[source]  # (m, 3, 3)
    v, w, ok = plane_weights(tri, src[:, None, 0], src[:, None, 1], src[:, None, 2])
    weights = np.stack([1 - v - w, v, w], axis=-1)
    weights = np.where(ok[..., None], weights, 1.0 / 3)
    weights = np.clip(weights, 0.0, None)  # stay on the source face: no UVs beyond its tile
    weights /= np.maximum(weights.sum(-1, keepdims=True), 1e-12)
    return Level(pv, pf, source, weights, float(error))


def cached_levels(name: str, geometry) -> tuple[Level | None, ...]:
    """build_levels of `geometry()` (vertices, faces), kept in the asset cache under a name
    derived from `name` (the file's sha256 and what else decides the unit frame), so each model
    is decimated once per machine and the file is not even loaded when its levels are there.
    Written atomically: workers that build the same levels at once each write a whole file."""
    from segsim.fileio import atomic_path

    path = _levels_path(name)
    found = _read_cached(path, lambda data: tuple(_unpack(data, i) for i in range(len(TARGETS))))
    if found is not None:
        return found
    levels = build_levels(*geometry())
    arrays = {}
    for i, level in enumerate(levels):
        if level is not None:
            arrays |= {
                f"{i}_vertices": level.vertices,
                f"{i}_faces": level.faces,
                f"{i}_source_face": level.source_face,
                f"{i}_weights": level.weights,
                f"{i}_error": np.float64(level.error),
            }
    with atomic_path(path, suffix=".tmp.npz") as tmp:
        np.savez(tmp, **arrays)
    return levels


def cached_level(name: str, geometry, i: int) -> Level | None:
    """Level `i` of cached_levels, reading only its own arrays where the levels are cached (a
    model drawn at one level needs no other)."""
    found = _read_cached(_levels_path(name), lambda data: (_unpack(data, i),))
    return found[0] if found is not None else cached_levels(name, geometry)[i]


def cached_errors(name: str, geometry) -> tuple[float | None, ...]:
    """Each level's error (None where there is none): what choosing a level needs, read
    without the levels' arrays where they are cached."""
    found = _read_cached(
        _levels_path(name),
        lambda data: tuple(
            float(data[f"{i}_error"]) if f"{i}_error" in data else None for i in range(len(TARGETS))
        ),
    )
    if found is None:
        found = tuple(None if lv is None else lv.error for lv in cached_levels(name, geometry))
    return found


def _levels_path(name: str):
    from segsim.assets.cache import cache_dir

    digest = hashlib.sha256(f"{LOD_VERSION}:{TARGETS}:{MIN_FACES}:{name}".encode()).hexdigest()
    return cache_dir() / "lod" / f"{digest[:32]}.npz"


def _read_cached(path, read) -> tuple | None:
    """read(the cached npz), or None when it is missing or damaged (then built again over)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return read(data)
    except (OSError, ValueError, KeyError):
        return None


def _unpack(data, i: int) -> Level | None:
    if f"{i}_faces" not in data:
        return None
    return Level(
        data[f"{i}_vertices"],
        data[f"{i}_faces"],
        data[f"{i}_source_face"],
        data[f"{i}_weights"],
        float(data[f"{i}_error"]),
    )
