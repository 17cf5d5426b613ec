"""Image files as GL textures (object textures and photo backgrounds), cached per context."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from segsim.errors import SegsimError
from segsim.fileio import read_image

MAX_SIDE = 1024  # larger photos are downscaled on load: a 256 px frame never needs more


def load_rgb(path: str) -> np.ndarray:
    """An image file as H x W x 3 uint8, through segsim's one image reader, at most MAX_SIDE."""
    from PIL import Image

    try:
        rgb = read_image(path)
    except SegsimError as e:
        raise SegsimError(
            f"cannot use {path} as a texture or background: {e.problem}",
            "remove or replace the image file, or fix background.image_dir / texture image paths",
        ) from e
    if max(rgb.shape[:2]) <= MAX_SIDE:
        return rgb
    im = Image.fromarray(rgb)
    im.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(im, np.uint8)


class ImageTextures:
    def __init__(self, ctx, capacity: int = 32):
        self.ctx = ctx
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._rgb: OrderedDict = OrderedDict()

    def get(self, path: str, crop: tuple | None = None):
        """(texture, width, height) for an image file, or for a crop of it as an object's tiling
        texture: `crop` is (seed, zoom, aspect), a `photos.crop_box`, shifted by half a tile so
        that a tile centred on the object's origin (a photo card) shows the crop whole."""
        key = path if crop is None else (path, *crop)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        import moderngl

        rgb = self.decoded(path)
        if crop is not None:
            rgb = _crop(rgb, *crop)
            rgb = np.roll(rgb, (rgb.shape[0] // 2, rgb.shape[1] // 2), axis=(0, 1))
        h, w = rgb.shape[:2]
        tex = self.ctx.texture((w, h), 3, np.ascontiguousarray(rgb).tobytes(), alignment=1)
        tex.build_mipmaps()
        tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        tex.repeat_x = tex.repeat_y = True
        self._items[key] = (tex, w, h)
        if len(self._items) > self.capacity:
            _, (old, _, _) = self._items.popitem(last=False)
            old.release()
        return self._items[key]

    def decoded(self, path: str) -> np.ndarray:
        """The image file's pixels (photos are cropped anew every frame: the decoded files are
        kept, not only the textures)."""
        if path in self._rgb:
            self._rgb.move_to_end(path)
            return self._rgb[path]
        from segsim.assets.photos import photo_pixels

        rgb = photo_pixels(path)
        self._rgb[path] = load_rgb(path) if rgb is None else rgb
        if len(self._rgb) > self.capacity:
            self._rgb.popitem(last=False)
        return self._rgb[path]

    def release(self):
        for tex, _, _ in self._items.values():
            tex.release()
        self._items.clear()
        self._rgb.clear()


def photo_background(rgb: np.ndarray, crop: tuple, size: tuple[int, int]) -> np.ndarray:
    """A background's crop of a photo (`crop`: seed, zoom, as for `photos.crop_box`) resized to
    the frame (`size`: width, height), area-averaged when it shrinks: the frame samples it
    texel for pixel, so it needs neither a texture of its own nor mipmaps."""
    import cv2

    width, height = size
    part = _crop(rgb, crop[0], crop[1], width / height)
    shrink = part.shape[1] > width or part.shape[0] > height
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(part, (width, height), interpolation=interpolation))


def _crop(rgb: np.ndarray, seed: int, zoom: float, aspect: float) -> np.ndarray:
    """The part of an image that `photos.crop_box` picks (a view, not a copy)."""
    from segsim.assets.photos import crop_box

    x0, y0, x1, y1 = crop_box(seed, zoom, aspect, rgb.shape[1], rgb.shape[0])
    return rgb[y0:y1, x0:x1]
