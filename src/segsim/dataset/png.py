"""A small, fast PNG encoder: numpy row filters + libdeflate.

Encoding is a large share of what `segsim generate` spends past rendering, so the PNGs are
built here, far faster than libpng: one fixed row filter per kind of map, computed with numpy,
and deflate by libdeflate at level 1 (bench/bench_encode.py has the figures).

The output is a plain, standard PNG (IHDR, one IDAT, IEND): 8-bit grey, RGB, RGBA or 16-bit
grey; any decoder reads it. Bytes are a function of the pixels, the filter and the libdeflate
version alone, which the dataset's checksums rely on; that is why the deflate is libdeflate and
not a faster one whose output is not (bench/diary.md).

`encode` is the one entry every part calls (dataset files, predicted masks, API responses): it
picks the path by the array's kind. 8-bit RGB(A) goes to `encode_photo`, which hands it to the
optional fpng extension when that is installed (several times faster, files ~10% bigger, one
extra ancillary chunk) and to encode_png otherwise.
"""

from __future__ import annotations

import struct
import zlib

import deflate as _libdeflate
import numpy as np

try:  # fpng: a PNG encoder made for 8-bit RGB(A), faster than the path below (encode_photo)
    import fpng_py as _fpng
except ImportError:  # pragma: no cover - an optional, compiled extra (see the Makefile)
    _fpng = None

FILTER_NONE, FILTER_SUB, FILTER_UP = 0, 1, 2
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def _chunk(tag: bytes, data: bytes) -> bytes:
    # libdeflate's CRC-32 (the same value as zlib's) is several times faster over a 100 KB IDAT
    crc = _libdeflate.crc32(data, _libdeflate.crc32(tag))
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _filtered_rows(img: np.ndarray, row_filter: int) -> np.ndarray:
    """Rows as PNG wants them: big-endian samples, each row led by its filter-type byte."""
    h = img.shape[0]
    if img.dtype == np.uint16:
        img = img.astype(">u2")
    rows = np.ascontiguousarray(img).view(np.uint8).reshape(h, -1)
    bpp = (1 if img.ndim == 2 else img.shape[2]) * img.dtype.itemsize  # bytes per pixel
    out = np.empty((h, rows.shape[1] + 1), np.uint8)
    out[:, 0] = row_filter
    if row_filter == FILTER_SUB:  # byte minus the same byte of the pixel to the left (mod 256)
        out[:, 1 : bpp + 1] = rows[:, :bpp]
        np.subtract(rows[:, bpp:], rows[:, :-bpp], out=out[:, bpp + 1 :])
    elif row_filter == FILTER_UP:  # byte minus the byte above (mod 256)
        out[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    else:
        out[:, 1:] = rows
    return out  # deflate reads the array's buffer: no copy to bytes


def encode_png(img: np.ndarray, row_filter: int = FILTER_SUB, level: int = 1) -> bytes:
    """HxW uint8/uint16 or HxWx3/4 uint8 (RGB order) -> PNG bytes."""
    img = np.asarray(img)
    channels = 1 if img.ndim == 2 else img.shape[-1]
    if (
        img.ndim not in (2, 3)
        or img.dtype not in (np.uint8, np.uint16)
        or channels not in _COLOR_TYPE
        or (img.dtype == np.uint16 and channels != 1)
        or 0 in img.shape
    ):
        raise ValueError(f"cannot encode an array of {img.dtype} {img.shape} as PNG")
    h, w = img.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, img.dtype.itemsize * 8, _COLOR_TYPE[channels], 0, 0, 0)
    idat = _libdeflate.zlib_compress(_filtered_rows(img, row_filter), level)
    return _SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def row_filter_for(img: np.ndarray) -> int:
    """The row filter `encode` uses for a single-channel map: none for 8-bit class ids (long
    constant runs that deflate already squeezes), UP for 16-bit ids and depth (smooth or
    constant down the columns)."""
    return FILTER_UP if img.dtype == np.uint16 else FILTER_NONE


def encode(img: np.ndarray) -> bytes:
    """PNG bytes of an H x W uint8 / uint16 map or an H x W x 3 (or 4) uint8 image (RGB order)."""
    img = np.asarray(img)
    if img.ndim == 3:
        return encode_photo(img)
    return encode_png(img, row_filter_for(img))


def encode_photo(img: np.ndarray) -> bytes:
    """PNG bytes of an H x W x 3 (or 4) uint8 photo-like image (RGB order), the fastest way at hand.

    With the optional fpng extension (`fpng_py`): its fixed UP filter and deflate tuned for 8-bit
    colour is several times faster than encode_png's SUB filter for files ~10% bigger. Any decoder
    reads its files: the extra chunk it adds (fdEC) is ancillary. Without it, or for other arrays,
    encode_png."""
    img = np.asarray(img)
    if (
        _fpng is None
        or img.ndim != 3
        or img.dtype != np.uint8
        or img.shape[2] not in (3, 4)
        or 0 in img.shape
    ):
        return encode_png(img, FILTER_SUB)
    h, w, channels = img.shape
    # fpng trusts the sizes it is given (a short buffer is read past its end): pass the exact
    # contiguous array they describe
    return _fpng.fpng_encode_image_to_memory(np.ascontiguousarray(img), w, h, channels)


def is_intact(data: bytes) -> bool:
    """True when `data` is a whole PNG: signature, every chunk's CRC right, ending in IEND.

    Cheap (one CRC pass, no inflate), and catches truncated or bit-flipped files."""
    if not data.startswith(_SIGNATURE):
        return False
    pos, end = len(_SIGNATURE), len(data)
    while pos + 12 <= end:
        (length,) = struct.unpack_from(">I", data, pos)
        tag_end = pos + 8 + length
        if tag_end + 4 > end:
            return False
        (crc,) = struct.unpack_from(">I", data, tag_end)
        if zlib.crc32(data[pos + 4 : tag_end]) != crc:
            return False
        if data[pos + 4 : pos + 8] == b"IEND":
            return tag_end + 4 == end
        pos = tag_end + 4
    return False
