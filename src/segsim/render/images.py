"""Image files as GL textures (object textures and photo backgrounds), cached per context."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MAX_SIDE = 1024   # larger photos are downscaled on load: a 256 px frame never needs more


def load_rgb(path: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise SegsimError(f"image file not found: {p}", "check background.image_dir / texture image paths")
    try:
        with Image.open(p) as im:
            im = im.convert("RGB")
            if max(im.size) > MAX_SIDE:
                im.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.asarray(im, np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise SegsimError(f"cannot read image {p}: {e}", "remove or replace the corrupt image file") from e


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
