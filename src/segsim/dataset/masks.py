"""Decoding a labelled pair: the image through segsim.fileio's reader, the mask into an
H x W uint8 class map checked against the label set, and the two sizes against each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segsim import fileio
from segsim.errors import SegsimError
from segsim.labels import LabelSet

MASK_EXTS = (".png", ".bmp", ".tif", ".tiff")  # lossless only: a JPEG's edges are not class ids
_REPLACE = "replace or delete the file (it is missing, truncated or not an image)"


def read_image(path: str | Path) -> np.ndarray:
    """H x W x 3 uint8 RGB of a dataset image; an error names it as one."""
    try:
        return fileio.read_image(path, name="the file")
    except SegsimError as e:
        raise SegsimError(f"cannot read image {path}: {e.problem}", _REPLACE) from e


@dataclass
class MaskDecoder:
    """Turns a mask file into an H x W uint8 class map (255 = ignore), checking every value.

    Single-channel and palette ("P") PNGs are read as class indices. Colour masks are mapped
    through `colors` (class id -> RGB) plus the optional ignore colour.
    """

    labels: LabelSet
    ignore_color: tuple[int, int, int] | None = None
    allow_color: bool = True
    _lut: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._lut = {_code(lab.color): lab.id for lab in self.labels.labels}
        if self.ignore_color is not None:
            self._lut.setdefault(_code(self.ignore_color), self.labels.ignore_index)

    def __call__(self, path: str | Path) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(path) as im:
                mode = im.mode
                colour = mode in ("RGBA", "LA", "CMYK", "YCbCr")
                arr = np.array(im.convert("RGB") if colour else im)
        except (OSError, ValueError, SyntaxError) as e:
            raise SegsimError(f"cannot read mask {path}: {e}", _REPLACE) from e
        if arr.ndim == 3:
            return self._from_colors(arr[..., :3], path)
        return self._check_ids(arr, path)

    def _check_ids(self, arr: np.ndarray, path) -> np.ndarray:
        n, ign = self.labels.num_classes, self.labels.ignore_index
        if arr.size and arr.min() >= 0 and arr.max() < n:  # the common case, without np.unique
            return arr.astype(np.uint8, copy=False)
        values = np.unique(arr)
        bad = values[(values >= n) & (values != ign)]
        if bad.size or (values < 0).any():
            raise SegsimError(
                f"mask {path} holds class id "
                f"{int(bad[0]) if bad.size else int(values[0])}, "
                f"but the label set has {n} classes (0..{n - 1}, {ign} = ignore)",
                "fix the mask, or list every class in labels.yaml (or the config's data.palette)",
            )
        return arr.astype(np.uint8, copy=False)

    def _from_colors(self, rgb: np.ndarray, path) -> np.ndarray:
        if not self.allow_color:
            raise SegsimError(
                f"mask {path} is a colour image, but this layout stores class indices",
                "write masks as single-channel class-index PNGs",
            )
        codes = _code_array(rgb)
        uniq, inverse = np.unique(codes, return_inverse=True)
        unknown = [c for c in uniq.tolist() if c not in self._lut]
        if unknown:
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            if np.array_equal(r, g) and np.array_equal(r, b):
                return self._check_ids(r, path)  # a class-index mask saved as grey RGB
            c = unknown[0]
            color = [(c >> 16) & 255, (c >> 8) & 255, c & 255]
            names = ", ".join(self.labels.names[:8]) + ("..." if len(self.labels) > 8 else "")
            raise SegsimError(
                f"mask {path} has colour {color}, which is not in the palette "
                f"({len(self.labels)} classes: {names})",
                "add the colour to labels.yaml (or data.palette), or fix the mask",
            )
        ids = np.array([self._lut[c] for c in uniq.tolist()], np.uint8)
        return ids[inverse.reshape(codes.shape)]


def _code(color) -> int:
    r, g, b = (int(c) for c in color)
    return (r << 16) | (g << 8) | b


def _code_array(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def load_pair(
    image_path: Path, mask_path: Path, decode_mask: MaskDecoder
) -> tuple[np.ndarray, np.ndarray]:
    """(image RGB uint8, mask uint8) with the sizes checked against each other."""
    image = read_image(image_path)
    mask = decode_mask(mask_path)
    if image.shape[:2] != mask.shape[:2]:
        raise SegsimError(
            f"image {image_path} is {image.shape[1]}x{image.shape[0]} but its mask "
            f"{mask_path} is {mask.shape[1]}x{mask.shape[0]}",
            "re-export the mask at the image's size (or delete the pair)",
        )
    return image, mask
