"""Walk-and-look camera control for the viewer, on an OpenCV world_to_camera matrix.

The scene's world "up" is not assumed: it is the world axis closest to the starting camera's up
(-y in OpenCV), so the rig works for z-up and y-up scenes alike. Yaw turns about that axis,
pitch about the camera's own x axis (clamped short of straight up/down so yaw stays defined),
and walking stays level: forward and right are projected onto the ground plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MAX_ELEVATION = np.deg2rad(85.0)


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: rotation by `angle` (right hand) about the unit vector `axis`."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]], float)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def world_up(camera_to_world_rotation: np.ndarray) -> np.ndarray:
    cam_up = -camera_to_world_rotation[:, 1]
    axis = int(np.argmax(np.abs(cam_up)))
    up = np.zeros(3)
    up[axis] = np.sign(cam_up[axis]) or 1.0
    return up


class CameraRig:
    def __init__(self, world_to_camera: np.ndarray, up=None, level: bool = False):
        """`up`: the world's up axis when the scene source knows it (segsim scenes are z-up),
        else guessed from the camera. `level` removes the camera's roll, so walking feels level."""
        c2w = np.linalg.inv(np.asarray(world_to_camera, float))
        self.rotation = c2w[
            :3, :3
        ].copy()  # columns: camera x (right), y (down), z (forward) in world
        self.position = c2w[:3, 3].copy()
        self.up = (
            np.asarray(up, float) / np.linalg.norm(up)
            if up is not None
            else world_up(self.rotation)
        )
        if level:
            self._remove_roll()

    def _remove_roll(self) -> None:
        fwd = self.forward
        right = np.cross(fwd, self.up)  # OpenCV: right = forward x up for a level camera
        if np.linalg.norm(right) < 1e-6:  # looking straight along up: roll is undefined, keep it
            return
        right /= np.linalg.norm(right)
        self.rotation = np.stack([right, np.cross(fwd, right), fwd], axis=1)

    @property
    def forward(self) -> np.ndarray:
        return self.rotation[:, 2]

    def elevation(self) -> float:
        """Angle of the view direction above the ground plane, radians."""
        return float(np.arcsin(np.clip(self.forward @ self.up, -1, 1)))

    def _level(self, v: np.ndarray) -> np.ndarray:
        flat = v - (v @ self.up) * self.up
        n = np.linalg.norm(flat)
        return flat / n if n > 1e-9 else np.zeros(3)

    def step(self, forward: float, right: float) -> np.ndarray:
        """The world displacement of walking `forward` / `right` metres, level with the ground."""
        fwd = self._level(self.forward)
        if not fwd.any():  # looking straight down or up: walk where the camera's top points
            fwd = self._level(-self.rotation[:, 1])
        side = np.cross(-self.up, fwd)  # OpenCV axes: right = down x forward, and down = -up
        return forward * fwd + right * side

    def walk(self, forward: float, right: float) -> None:
        """Move `forward` / `right` metres, level with the ground."""
        self.position = self.position + self.step(forward, right)

    def look(self, yaw: float, pitch: float) -> None:
        """Turn right by `yaw` and up by `pitch` radians."""
        self.rotation = _rotation(self.up, -yaw) @ self.rotation
        target = np.clip(self.elevation() + pitch, -MAX_ELEVATION, MAX_ELEVATION)
        delta = target - self.elevation()
        # Rotating about camera x by +delta tips forward towards -y, i.e. up.
        self.rotation = self.rotation @ _rotation(np.array([1.0, 0.0, 0.0]), delta)
        u, _, vt = np.linalg.svd(self.rotation)  # keep it exactly orthonormal over many steps
        self.rotation = u @ vt

    def world_to_camera(self) -> np.ndarray:
        c2w = np.eye(4)
        c2w[:3, :3] = self.rotation
        c2w[:3, 3] = self.position
        return np.linalg.inv(c2w)


# --- walking on the ground among obstacles (the street viewer) -------------------------------

EYE_HEIGHT = (1.2, 1.8)  # metres above the ground: a person's or a car driver's eyes
BODY_RADIUS = 0.3  # how close the eye may come to a wall
STEP_HEIGHT = 0.3  # obstacles lower than this (kerbs) are walked over
MAX_STEP = 0.1  # a walk is taken in steps this long, so no thin wall is stepped through


@dataclass(frozen=True)
class Footprint:
    """An obstacle's footprint on the ground: an oriented rectangle (world x, y) and the height
    range (world z) it spans."""

    centre: np.ndarray  # (2,)
    axes: np.ndarray  # (2, 2): rows are the rectangle's unit axes
    half: np.ndarray  # (2,): half sizes along them
    z: tuple[float, float]

    def push(self, xy: np.ndarray, radius: float) -> np.ndarray | None:
        """The shortest move that takes a disc of `radius` at `xy` out of the rectangle, or None
        where the disc is outside already."""
        d = self.axes @ (xy - self.centre)
        depth = self.half + radius - np.abs(d)
        if (depth <= 0).any():
            return None
        i = int(np.argmin(depth))
        return self.axes[i] * (1.0 if d[i] >= 0 else -1.0) * (depth[i] + 1e-6)


@lru_cache(maxsize=256)
def _unit_bounds(kind: str, key: tuple) -> np.ndarray:
    from segsim.scene.shapes import get_shape

    points = np.asarray(get_shape(kind).collision_points(key, 0), float)  # a mesh: its hull
    return np.stack([points.min(axis=0), points.max(axis=0)])


def _pieces(shape: dict) -> list[np.ndarray]:
    """4x4 maps (object frame <- unit box [0, 1]^3 corners scaled onto each solid piece's
    bounds): one for most shapes, one per part for compounds (a street's houses are one
    compound, and its footprint is each house's, not the hull of the street)."""
    from segsim.scene.shapes import get_shape, kind_of

    parts = shape["primitives"] if shape.get("type") == "compound" else [shape]
    out = []
    for part in parts:
        kind = kind_of(part) if part is shape else get_shape(part["type"])
        key, scale = kind.unit_key_and_scale(part)
        lo, hi = _unit_bounds(kind.name, key)
        place = np.eye(4)
        if part is not shape:
            from segsim.scene.shapes.compound import part_rotation

            place[:3, :3] = np.reshape(part_rotation(part), (3, 3))
            place[:3, 3] = part["at"]
        box = np.diag([*(hi - lo), 1.0])
        box[:3, 3] = lo
        out.append(place @ np.asarray(scale, float) @ box)
    return out


_CORNERS = np.array([[x, y, z, 1.0] for x in (0, 1) for y in (0, 1) for z in (0, 1)]).T


def footprint(piece_to_world: np.ndarray) -> Footprint:
    """The ground footprint of a box given as the map of the unit cube's corners into the world:
    a rectangle along the box's two most level axes (exact for upright boxes, around the
    whole box otherwise)."""
    corners = (piece_to_world @ _CORNERS)[:3].T
    rot = piece_to_world[:3, :3]
    level = sorted(range(3), key=lambda i: abs(rot[2, i]) / max(np.linalg.norm(rot[:, i]), 1e-12))
    a = rot[:2, level[0]]
    a = a / np.linalg.norm(a) if np.linalg.norm(a) > 1e-9 else np.array([1.0, 0.0])
    axes = np.array([a, [-a[1], a[0]]])
    xy = corners[:, :2]
    centre = 0.5 * (xy.max(axis=0) + xy.min(axis=0))
    d = (xy - centre) @ axes.T
    lo, hi = d.min(axis=0), d.max(axis=0)
    centre = centre + axes.T @ (0.5 * (lo + hi))
    return Footprint(
        centre, axes, 0.5 * (hi - lo), (float(corners[:, 2].min()), float(corners[:, 2].max()))
    )


def obstacles(scene, class_ids) -> list[Footprint]:
    """Footprints of the scene's objects (and ground) whose class is in `class_ids`."""
    blocking = {int(c) for c in class_ids}
    items = [*scene.objects, *([scene.ground] if scene.ground is not None else [])]
    out = []
    for obj in items:
        if int(obj.class_id) not in blocking:
            continue
        o2w = np.asarray(obj.object_to_world, float)
        out.extend(footprint(o2w @ piece) for piece in _pieces(obj.shape))
    return out


class GroundRig(CameraRig):
    """Walks on the ground of a z-up world at eye height: W/S and A/D move level, the eye
    height never changes, and the eye never comes within `radius` of an obstacle's footprint
    (it slides along walls instead). Looking around is CameraRig's."""

    def __init__(
        self,
        world_to_camera: np.ndarray,
        footprints=(),
        eye_height: float | None = None,
        ground: float = 0.0,
        radius: float = BODY_RADIUS,
    ):
        super().__init__(world_to_camera, up=(0.0, 0.0, 1.0), level=True)
        height = self.position[2] - ground if eye_height is None else eye_height
        self.eye_height = float(np.clip(height, *EYE_HEIGHT))
        self.position[2] = ground + self.eye_height
        self.radius = float(radius)
        # only what stands in the way of a body between the ground and the eyes
        self.footprints = [
            f for f in footprints if f.z[1] > ground + STEP_HEIGHT and f.z[0] < self.position[2]
        ]
        self._centres = self._axes = self._half = None  # the footprints as arrays, on first use
        self.position[:2] = self._free(self.position[:2], self.position[:2])

    def _pushes(self, xy: np.ndarray) -> np.ndarray:
        """Footprint.push for every footprint at once: (n, 2), zero rows where `xy` is clear."""
        if self._centres is None:
            fps = self.footprints
            self._centres = np.array([f.centre for f in fps]).reshape(-1, 2)
            self._axes = np.array([f.axes for f in fps]).reshape(-1, 2, 2)
            self._half = np.array([f.half for f in fps]).reshape(-1, 2)
        d = np.einsum("nij,nj->ni", self._axes, xy - self._centres)
        depth = self._half + self.radius - np.abs(d)
        inside = (depth > 0).all(axis=1)
        i = np.argmin(depth, axis=1)
        rows = np.arange(len(i))
        sign = np.where(d[rows, i] >= 0, 1.0, -1.0)
        push = self._axes[rows, i] * (sign * (depth[rows, i] + 1e-6))[:, None]
        return np.where(inside[:, None], push, 0.0)

    def blocked(self, xy) -> bool:
        return bool(self._pushes(np.asarray(xy, float)).any())

    def _free(self, xy: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """`xy` pushed out of every footprint it is in (a few rounds, for corners), else
        `fallback` where the pushes do not settle."""
        for _ in range(8):
            pushes = self._pushes(xy)
            lengths = (pushes**2).sum(axis=1)
            if not lengths.any():
                return xy
            xy = xy + pushes[int(np.argmax(lengths))]
        return fallback

    def walk(self, forward: float, right: float) -> None:
        move = self.step(forward, right)[:2]
        steps = max(1, int(np.ceil(np.linalg.norm(move) / MAX_STEP)))
        xy = self.position[:2].copy()
        for _ in range(steps):
            xy = self._free(xy + move / steps, xy)
        self.position = np.array([xy[0], xy[1], self.position[2]])
