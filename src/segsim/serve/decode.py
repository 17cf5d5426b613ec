"""Turn uploaded bytes into an RGB array, refusing what would hurt the server.

Size checks come first and cheaply: the byte count here, then the pixel count, which
segsim.fileio.read_image reads from the image header, so a small file that decompresses
into a huge image (a decompression bomb) is refused before any pixel is decoded.
"""

from __future__ import annotations

import numpy as np

from segsim.errors import SegsimError
from segsim.serve.limits import ServeLimits

SEND_IMAGE = "send a PNG or JPEG image as multipart field 'file' or as the raw request body"


def check_size(nbytes: int, limits: ServeLimits) -> None:
    if nbytes == 0:
        raise SegsimError("the request body is empty", SEND_IMAGE, status_code=400)
    if nbytes > limits.max_bytes:
        raise SegsimError(
            f"the upload is {nbytes} bytes, over the limit of {limits.max_bytes}",
            "send a smaller image, or start the server with a larger --max-bytes",
            status_code=413,
        )


def decode_image(data: bytes, limits: ServeLimits) -> np.ndarray:
    """Bytes -> HxWx3 uint8 RGB, or SegsimError (4xx: undecodable, 413 too large)."""
    check_size(len(data), limits)
    rgb = _read_image(data, limits.max_pixels)  # refuses too many pixels from the header (413)
    if rgb.shape[0] * rgb.shape[1] > limits.max_pixels:  # belt and braces for headerless oddities
        raise SegsimError(
            f"the image has {rgb.shape[0] * rgb.shape[1]} pixels, over the limit of "
            f"{limits.max_pixels}",
            "downscale the image, or raise --max-pixels",
            status_code=413,
        )
    return rgb


def _read_image(data: bytes, max_pixels: int) -> np.ndarray:
    from segsim.fileio import read_image  # the one image reader: EXIF, 16-bit, palettes, errors

    rgb = np.asarray(read_image(data, name="the uploaded image", max_pixels=max_pixels))
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise SegsimError("the image could not be read as 8-bit RGB", SEND_IMAGE, status_code=400)
    return np.ascontiguousarray(rgb)
