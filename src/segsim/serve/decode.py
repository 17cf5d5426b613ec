"""Turn uploaded bytes into an RGB array, refusing what would hurt the server.

Size checks come first and cheaply: the byte count, then the pixel count read from the image
header (PIL opens lazily), so a small file that decompresses into a huge image (a decompression
bomb) is refused before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from segsim.errors import SegsimError
from segsim.serve.limits import ServeLimits

SEND_IMAGE = "send a PNG or JPEG image as multipart field 'file' or as the raw request body"


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when PIL cannot tell (the decoder decides)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's DecompressionBombWarning; we apply our own limit
            with Image.open(io.BytesIO(data)) as im:
                return int(im.size[0]), int(im.size[1])
    except Exception:  # noqa: BLE001 -- any header PIL cannot parse is the decoder's call
        return None


def check_size(nbytes: int, limits: ServeLimits) -> None:
    if nbytes == 0:
        raise SegsimError("the request body is empty", SEND_IMAGE, status_code=400)
    if nbytes > limits.max_bytes:
        raise SegsimError(f"the upload is {nbytes} bytes, over the limit of {limits.max_bytes}",
                          "send a smaller image, or start the server with a larger --max-bytes",
                          status_code=413)


def decode_image(data: bytes, limits: ServeLimits) -> np.ndarray:
    """Bytes -> HxWx3 uint8 RGB, or SegsimError (400 undecodable, 413 too large)."""
    check_size(len(data), limits)
    size = header_size(data)
    if size is not None and size[0] * size[1] > limits.max_pixels:
        raise SegsimError(f"the image is {size[0]}x{size[1]} = {size[0] * size[1]} pixels, "
                          f"over the limit of {limits.max_pixels}",
                          "downscale the image, or start the server with a larger --max-pixels",
                          status_code=413)
    rgb = _read_image(data, limits.max_pixels)
    if rgb.shape[0] * rgb.shape[1] > limits.max_pixels:  # formats whose header PIL could not read
        raise SegsimError(f"the image has {rgb.shape[0] * rgb.shape[1]} pixels, over the limit of "
                          f"{limits.max_pixels}", "downscale the image, or raise --max-pixels", status_code=413)
    return rgb


def _read_image(data: bytes, max_pixels: int) -> np.ndarray:
    try:
        from segsim.infer.images import read_image
    except ImportError:  # the inference part has not landed its reader; decode with OpenCV here
        rgb = _read_image_cv2(data)
    else:
        rgb = read_image(data, name="the uploaded image", max_pixels=max_pixels)
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise SegsimError("the image could not be read as 8-bit RGB", SEND_IMAGE, status_code=400)
    return np.ascontiguousarray(rgb)


def _read_image_cv2(data: bytes) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise SegsimError("the body is not an image that can be decoded", SEND_IMAGE, status_code=400)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
