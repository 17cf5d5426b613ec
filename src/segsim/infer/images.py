"""Robust image reading and writing for inference.

Everything a user can hand us -- a path, raw bytes from an upload, a PNG that is 16-bit,
greyscale, palette or RGBA, a JPEG with an EXIF rotation, a truncated or empty file, a text
file with an image suffix -- comes out as an HxWx3 uint8 RGB array or as a SegsimError that
names the file. Writes go through a temporary file and os.replace so a crash never leaves
half a PNG behind.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segsim.errors import SegsimError
from segsim.fileio import write_atomic

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def read_image(source: str | Path | bytes | bytearray, name: str | None = None,
               max_pixels: int | None = None) -> np.ndarray:
    """Decode `source` (a path or the file's bytes) to an HxWx3 uint8 RGB array.

    `name` is what error messages call the image (defaults to the path, or "image" for bytes).
    `max_pixels` rejects images larger than that before decoding them (HTTP 413).
    Alpha is dropped (the colour channels are what the network was trained on); 16-bit and
    float images are scaled to 0..255; EXIF orientation is applied so masks line up with
    what an image viewer shows.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "image"
    else:
        path = Path(source)
        label = name or str(path)
        if not path.is_file():
            raise SegsimError(f"image not found: {label}", "check the path")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SegsimError(f"cannot read {label}: {e.strerror or e}", "check the file's permissions") from e
    if not data:
        raise SegsimError(f"{label} is empty (0 bytes)", "pass a PNG, JPEG, BMP, TIFF or WebP image")

    # Pillow's own decompression-bomb guard is a global warning filter, which is not
    # thread-safe to change; checking the header's size ourselves is.
    limit = max_pixels if max_pixels is not None else Image.MAX_IMAGE_PIXELS
    try:
        im = Image.open(io.BytesIO(data))
        if limit is not None and im.width * im.height > limit:
            raise SegsimError(f"{label} is {im.width}x{im.height} = {im.width * im.height} pixels, "
                              f"more than the limit of {limit}",
                              "downscale the image first", status_code=413)
        im.load()  # decode now, so a truncated file fails here and not later
        im = ImageOps.exif_transpose(im)
    except SegsimError:
        raise
    except UnidentifiedImageError as e:
        raise SegsimError(f"{label} is not an image format segsim can read",
                          "pass a PNG, JPEG, BMP, TIFF or WebP image", status_code=415) from e
    except Image.DecompressionBombError as e:
        raise SegsimError(f"{label} is too large to decode safely: {e}", "downscale the image first",
                          status_code=413) from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # truncated / corrupt streams
        raise SegsimError(f"{label} is corrupt or truncated: {e}", "re-export or re-download the image") from e
    return to_rgb(im)


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL mode -> HxWx3 uint8 RGB."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im)
        # I;16 is 16-bit by definition; mode "I" may hold 8- or 16-bit data, judged by range
        gray = _to_uint8(arr, sixteen_bit=im.mode.startswith("I;16"))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode != "RGB":
        im = im.convert("RGB")  # L, 1, P, RGBA (alpha dropped), CMYK, YCbCr, LAB, ...
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def _to_uint8(arr: np.ndarray, sixteen_bit: bool = False) -> np.ndarray:
    """Scale a single-channel integer or float array into 0..255."""
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64))
        top = 1.0 if arr.size and arr.max() <= 1.0 else 255.0
        return np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
    arr = arr.astype(np.int64)
    if sixteen_bit or (arr.size and arr.max() > 255):
        # 16-bit data (PIL loads some 16-bit PNGs as mode "I"): 65535 -> 255
        return np.clip((arr + 128) // 257, 0, 255).astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def as_rgb_array(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an in-memory image handed to the predictor; accept HxW and HxWx4 as well."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise SegsimError(f"{name} must be uint8 RGB, got dtype {arr.dtype}",
                          "load it with segsim.infer.images.read_image or convert to uint8")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif not (arr.ndim == 3 and arr.shape[2] == 3):
        raise SegsimError(f"{name} must have shape HxWx3, got {arr.shape}", "pass an RGB image")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise SegsimError(f"{name} has no pixels (shape {arr.shape})", "pass a non-empty image")
    return np.ascontiguousarray(arr)


def encode_png(array: np.ndarray) -> bytes:
    """HxW uint8 (index mask) or HxWx3 uint8 (RGB) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | Path, array: np.ndarray) -> None:
    write_atomic(path, encode_png(array))


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
