"""Projection matrices: OpenCV intrinsics -> GL clip space, and the shadow light's view.

The renderer draws with image rows going *up* in GL window coordinates (row 0 of the image is
GL row 0), so glReadPixels returns rows in image order with no flip. For a camera-frame point
(x, y, z) (OpenCV: y down, z forward) the pixel coordinates are u = fx x/z + s y/z + cx,
v = fy y/z + cy with pixel centres at integer + 0.5, exactly the GL rasterisation convention
(window x = (ndc_x + 1)/2 * W). So ndc_x = 2u/W - 1 and ndc_y = 2v/H - 1, which is linear in
(x, y, z) after multiplying by w = z: no approximation, the raster matches K to float precision.
"""

from __future__ import annotations

import numpy as np

from segsim.scene.geometry import cross3, unit3


def projection_from_K(
    K: np.ndarray, width: int, height: int, near: float, far: float
) -> np.ndarray:
    fx, s, cx = K[0, 0], K[0, 1], K[0, 2]
    fy, cy = K[1, 1], K[1, 2]
    P = np.zeros((4, 4))
    P[0] = [2 * fx / width, 2 * s / width, 2 * cx / width - 1, 0]
    P[1] = [0, 2 * fy / height, 2 * cy / height - 1, 0]
    # GL depth: ndc_z = -1 at z = near, +1 at z = far (w = z, camera looks down +z).
    P[2] = [0, 0, (far + near) / (far - near), -2 * far * near / (far - near)]
    P[3] = [0, 0, 1, 0]
    return P


def look_rotation(forward) -> np.ndarray:
    """Rows = right, up, back axes of a frame whose -z points along `forward` (GL style)."""
    f = unit3([float(c) for c in forward])
    helper = [0.0, 0.0, 1.0] if abs(f[2]) < 0.95 else [1.0, 0.0, 0.0]
    right = unit3(cross3(f, helper))
    up = cross3(right, f)
    return np.array([right, up, [-f[0], -f[1], -f[2]]])


def light_view_projection(
    direction, centre: np.ndarray, radius: float, behind: float = 4.0
) -> np.ndarray:
    """Orthographic light matrix covering a sphere (centre, radius) seen along `direction`.

    The depth range reaches `behind` radii past the sphere so receivers there (the ground under
    a low sun) still compare against the casters instead of falling off the far plane."""
    R = look_rotation(direction)
    view = np.eye(4)
    view[:3, :3] = R
    view[:3, 3] = -R @ centre
    r = max(radius, 1e-3)
    near, far = -r, behind * r  # along the light direction, relative to the centre
    proj = np.eye(4)
    proj[0, 0] = proj[1, 1] = 1 / r
    # view z = -distance along the light; ndc z = -1 at `near`, +1 at `far`
    proj[2, 2] = -2 / (far - near)
    proj[2, 3] = -(far + near) / (far - near)
    return proj @ view
