"""Files every part shares: atomic writes, the image suffixes, the image reader.

Atomic writes: a hidden temporary file beside the target, then os.replace, so a crash (or kill
-9) leaves either the old file or the new one, never half of one. The one implementation every
part uses, from dataset frames (five files a frame) to checkpoints' side files, plots, ONNX
models and masks. Temp names carry the process and thread id, so two writers never share one,
and end in TMP_SUFFIX (or the suffix asked for), so a resumed run can sweep what a killed one
left.

Also the one list of image suffixes and the one reader of images a user hands us (a file of
a dataset, a --input of predict, an upload, a background photo), so every part accepts the
same files.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
TMP_SUFFIX = ".tmp"


def _temp_name(path: str, suffix: str) -> str:
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.{os.getpid()}.{threading.get_ident()}{suffix}")


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` to `path` all at once or not at all (parent folders are created)."""
    path = os.fspath(path)  # os-level calls: this runs five times for every generated frame
    data = data.encode() if isinstance(data, str) else data
    tmp = _temp_name(path, TMP_SUFFIX)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp, flags, 0o666)  # 0666 less the umask, as a plain open() gives
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = TMP_SUFFIX) -> Iterator[Path]:
    """A temporary path beside `path` for a library that writes the file itself (the suffix
    tells it the format); on success it replaces `path`, on error it goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(_temp_name(os.fspath(path), suffix))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in `folder` (directly inside it, or anywhere below with `recursive`), sorted
    by path so every process picks the same file for the same index."""
    found = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_image(
    source: str | Path | bytes | bytearray, name: str | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Decode `source` (a path or the file's bytes) to an HxWx3 uint8 RGB array.

    `name` is what error messages call the image (defaults to the path, or "image" for bytes).
    `max_pixels` rejects images larger than that before decoding them (HTTP 413).
    Alpha is dropped (the colour channels are what the network was trained on); 16-bit and
    float images are scaled to 0..255; EXIF orientation is applied so masks line up with
    what an image viewer shows. Any failure is a SegsimError naming the image.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

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
            raise SegsimError(
                f"cannot read {label}: {e.strerror or e}", "check the file's permissions"
            ) from e
    if not data:
        raise SegsimError(
            f"{label} is empty (0 bytes)", "pass a PNG, JPEG, BMP, TIFF or WebP image"
        )

    # Pillow's own decompression-bomb guard is a global warning filter, which is not
    # thread-safe to change; checking the header's size ourselves is.
    limit = max_pixels if max_pixels is not None else Image.MAX_IMAGE_PIXELS
    try:
        im = Image.open(io.BytesIO(data))
        if limit is not None and im.width * im.height > limit:
            raise SegsimError(
                f"{label} is {im.width}x{im.height} = {im.width * im.height} pixels, "
                f"more than the limit of {limit}",
                "downscale the image first",
                status_code=413,
            )
        im.load()  # decode now, so a truncated file fails here and not later
        im = ImageOps.exif_transpose(im)
    except SegsimError:
        raise
    except UnidentifiedImageError as e:
        raise SegsimError(
            f"{label} is not an image format segsim can read",
            "pass a PNG, JPEG, BMP, TIFF or WebP image",
            status_code=415,
        ) from e
    except Image.DecompressionBombError as e:
        raise SegsimError(
            f"{label} is too large to decode safely: {e}",
            "downscale the image first",
            status_code=413,
        ) from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # truncated / corrupt streams
        raise SegsimError(
            f"{label} is corrupt or truncated: {e}", "re-export or re-download the image"
        ) from e
    return to_rgb(im)


def to_rgb(im) -> np.ndarray:
    """Any PIL image mode -> HxWx3 uint8 RGB."""
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
