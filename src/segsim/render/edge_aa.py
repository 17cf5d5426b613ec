"""Anti-aliasing guided by the label buffers, for the single-sample render path.

The renderer knows exactly where geometry edges are: wherever the (class, instance) id changes
between neighbouring pixels, or the depth jumps (an object's own silhouette over itself, the
ground's horizon against the background). Those pixels, on both sides of each edge, are replaced
by a small Gaussian (1-2-1) average of their neighbourhood, which turns stair-stepped
silhouettes into soft, photo-like edges. Inside surfaces nothing changes: texture patterns are
already band-limited in the shaders (see common.glsl).

Why not MSAA or FXAA: on llvmpipe 4x MSAA costs about 40% of the frame and an FXAA pass about a
third of it; this costs well under a millisecond at 256x256 on the CPU, and it never has to guess
where edges are from colour contrast. `Renderer(msaa=4)` still gives coverage-based MSAA.
"""

from __future__ import annotations

import numpy as np

# A depth step larger than this fraction of the nearer depth is an occlusion edge.
DEPTH_STEP = 0.03


def edge_mask(ids: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """H x W uint8, non-zero at pixels next to a change of (class, instance) id or a depth
    discontinuity.

    `ids` is H x W x 2 uint16 (class, instance), `depth` H x W float32 (0 = nothing hit).
    Written for speed (cv2.compare rather than numpy comparisons): the id pair is compared as
    one 32-bit number, and a depth step is "one side beyond the other by DEPTH_STEP", which also
    catches hit vs nothing."""
    import cv2

    h, w = depth.shape
    # (class, instance) as one int32 per pixel: cv2 has no uint32
    key = np.ascontiguousarray(ids, dtype=np.uint16).view(np.int32).reshape(h, w)
    depth = np.ascontiguousarray(depth, dtype=np.float32)
    beyond = depth * np.float32(1 + DEPTH_STEP)

    def steps(a, b):  # 255 where the pixels at slices a and b (neighbours) differ
        out = cv2.compare(key[a], key[b], cv2.CMP_NE)
        cv2.bitwise_or(out, cv2.compare(depth[b], beyond[a], cv2.CMP_GT), out)
        return cv2.bitwise_or(out, cv2.compare(depth[a], beyond[b], cv2.CMP_GT), out)

    edge = np.zeros((h, w), np.uint8)
    # (cv2 refuses the empty arrays a one-pixel-wide or -high image would give)
    for first, second, wide_enough in (
        (np.s_[:, :-1], np.s_[:, 1:], w > 1),
        (np.s_[:-1], np.s_[1:], h > 1),
    ):
        if wide_enough:
            step = steps(first, second)
            edge[first] |= step  # both pixels of each step
            edge[second] |= step
    return edge


def smooth_edges(rgb: np.ndarray, ids: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """`rgb` (H x W x 3 uint8) with every edge pixel replaced by its 3x3 Gaussian average, in
    place."""
    import cv2

    soft = cv2.GaussianBlur(rgb, (3, 3), 0, borderType=cv2.BORDER_REPLICATE)
    cv2.copyTo(soft, edge_mask(ids, depth), rgb)
    return rgb
