"""Walk-and-look camera control for the viewer, on an OpenCV world_to_camera matrix.

The scene's world "up" is not assumed: it is the world axis closest to the starting camera's up
(-y in OpenCV), so the rig works for z-up and y-up scenes alike. Yaw turns about that axis,
pitch about the camera's own x axis (clamped short of straight up/down so yaw stays defined),
and walking stays level: forward and right are projected onto the ground plane.
"""

from __future__ import annotations

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

    def walk(self, forward: float, right: float) -> None:
        """Move `forward` / `right` metres, level with the ground."""
        fwd = self._level(self.forward)
        if not fwd.any():  # looking straight down or up: walk where the camera's top points
            fwd = self._level(-self.rotation[:, 1])
        side = np.cross(-self.up, fwd)  # OpenCV axes: right = down x forward, and down = -up
        self.position = self.position + forward * fwd + right * side

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
