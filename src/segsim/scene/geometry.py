"""Small geometry helpers for scene sampling (pure numpy, no GL)."""

from __future__ import annotations

import math

import numpy as np

from segsim.scene.shapes import kind_of


def bounding_radius(shape: dict) -> float:
    """Radius of a sphere about the object origin that contains the whole canonical shape."""
    return kind_of(shape).bounding_radius(shape)


def depth_below_centre(shape: dict, R: np.ndarray) -> float:
    """How far the rotated shape reaches below its centre (support function along -z), so an
    object can be set exactly on the ground."""
    return kind_of(shape).depth_below_centre(shape, R)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random rotation (normalised Gaussian quaternion)."""
    w, x, y, z = rng.standard_normal(4).tolist()  # plain floats: this runs per object per frame
    inv = 1.0 / math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w * inv, x * inv, y * inv, z * inv
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def rigid(R: np.ndarray, t) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = R
    m[:3, 3] = t
    return m


def cross3(a, b) -> list[float]:
    """Cross product of two 3-sequences. np.cross on 3-vectors costs ~20x this in argument
    handling, and camera maths runs for every frame."""
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def unit3(v) -> list[float]:
    inv = 1.0 / math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return [v[0] * inv, v[1] * inv, v[2] * inv]


def look_at_opencv(
    eye: np.ndarray, target: np.ndarray, roll: float = 0.0, up=(0.0, 0.0, 1.0)
) -> np.ndarray:
    """world_to_camera for a camera at `eye` looking at `target` (OpenCV: x right, y down,
    z forward), world z up, then rolled by `roll` radians about the viewing axis."""
    eye = np.asarray(eye, float)
    z = unit3((np.asarray(target, float) - eye).tolist())
    up = [float(u) for u in up]
    if abs(z[0] * up[0] + z[1] * up[1] + z[2] * up[2]) > 0.999:
        up = [0.0, 1.0, 0.0]
    x = unit3(cross3(z, up))
    y = cross3(z, x)
    R = rot_z(roll) @ np.array([x, y, z])  # rows: camera axes in world, then roll about own z
    return rigid(R, -R @ eye)
