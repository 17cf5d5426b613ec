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

    def get(self, path: str):
        """(texture, width, height) for an image file."""
        if path in self._items:
            self._items.move_to_end(path)
            return self._items[path]
        import moderngl

        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        tex = self.ctx.texture((w, h), 3, np.ascontiguousarray(rgb).tobytes(), alignment=1)
        tex.build_mipmaps()
        tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        tex.repeat_x = tex.repeat_y = True
        self._items[path] = (tex, w, h)
        if len(self._items) > self.capacity:
            _, (old, _, _) = self._items.popitem(last=False)
            old.release()
        return self._items[path]

    def release(self):
        for tex, _, _ in self._items.values():
            tex.release()
        self._items.clear()
