"""Photo backdrops at training time: a frame's background pixels swapped for a photo crop.

Cut-paste (Dwibedi et al. 2017) done by the loader: the rendered objects stay as they were
drawn, and with probability `augment.photo_background` everything the mask calls `background`
shows a crop of a photo from the `photos` library instead (the sources and weights a scene's
`photo` background kind uses). The crop is drawn from the sample's seed, so a fixed folder of
frames meets a new backdrop every epoch instead of the few it was rendered with.
"""

from __future__ import annotations

import cv2
import numpy as np

from segsim.errors import SegsimError

BACKGROUND = "background"
# `auto` on generated frames: half of them keep the background they were drawn with
AUTO_SHARE = 0.5


class PhotoBackdrop:
    """Callable (image, mask, rng) -> image with the background class's pixels replaced."""

    def __init__(self, probability: float, class_id: int):
        from segsim.scene.realism import PhotosConfig, photo_pool

        self.probability, self.class_id = probability, class_id
        self.photos = PhotosConfig()
        photo_pool(self.photos)  # builds the library once, and fails here when it is empty

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        if rng.random() >= self.probability:
            return image
        where = mask == self.class_id
        if not where.any():
            return image
        backdrop = self.crop(rng, image.shape[1], image.shape[0])
        out = image.copy()
        cv2.copyTo(backdrop, where.view(np.uint8), out)
        return out

    def crop(self, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
        """A `width` x `height` crop of a library photo, as a photo background kind draws one."""
        from segsim.assets.photos import crop_box, photo_pixels
        from segsim.fileio import read_image
        from segsim.scene.realism import pick_photo

        path = pick_photo(rng, self.photos)
        rgb = photo_pixels(path)
        if rgb is None:  # its raw copy is damaged: decode the normalized PNG instead
            rgb = read_image(path)
        zoom = rng.uniform(*self.photos.crop)
        x0, y0, x1, y1 = crop_box(int(rng.integers(2**31)), zoom, width / height, *rgb.shape[1::-1])
        # skip whole source pixels first, then interpolate less than 2x: far cheaper than an
        # area-averaged shrink, and the loader's blur and crops soften what aliasing is left
        step = max(1, min((x1 - x0) // width, (y1 - y0) // height))
        part = np.ascontiguousarray(rgb[y0:y1:step, x0:x1:step])
        return cv2.resize(part, (width, height), interpolation=cv2.INTER_LINEAR)


def resolve_share(setting, index, mixed: bool = False) -> float:
    """`augment.photo_background` as a probability: `auto` swaps backdrops only in frames segsim
    drew (a `segsim` folder with a `background` class, not mixed with other folders, whose
    background pixels are nothing but background) and only where photos are installed."""
    if setting != "auto":
        return float(setting)
    if mixed or index.layout != "segsim" or BACKGROUND not in index.labels.names:
        return 0.0
    from segsim.scene.realism import PhotosConfig, installed_photos

    return AUTO_SHARE if installed_photos(PhotosConfig()) else 0.0


def photo_backdrop(probability: float, class_names: list[str] | None) -> PhotoBackdrop | None:
    """The backdrop for `augment.photo_background` (None when it is 0); the dataset must have a
    class named `background`, the pixels it replaces."""
    if probability <= 0:
        return None
    if class_names is None or BACKGROUND not in class_names:
        raise SegsimError(
            f"augment.photo_background needs a class named {BACKGROUND!r}; this dataset's "
            f"classes are {', '.join(class_names or []) or 'unknown'}",
            "set augment.photo_background=0 for datasets without a background class "
            "(street scenes: every pixel is a class of its own)",
            param="photo_background",
        )
    return PhotoBackdrop(probability, class_names.index(BACKGROUND))
