"""`--format voc`: the Pascal VOC segmentation layout, as segsim's voc reader (and VOC tools)
read it.

OUT/JPEGImages/<id>.jpg (JPEG quality 95, 4:4:4; `--image-format png` keeps them lossless, which
     segsim's reader takes too, though VOC's own tools expect .jpg)
OUT/SegmentationClass/<id>.png    palette PNG: class index, 255 = ignore (VOC's border colour)
OUT/SegmentationObject/<id>.png   palette PNG: object 1..N of the frame, 0 = none, 255 = ignore
OUT/ImageSets/Segmentation/<split>.txt
OUT/labels.yaml                   the label set with its colours (the reader uses it, so
                                  classes other than VOC's 21 come back under their names)
Ids are the file stems; where stems repeat across splits they are prefixed with the split.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import yaml

from segsim.dataset import png
from segsim.dataset.convert.registry import Converter, register_converter
from segsim.dataset.convert.source import frames, read_instances
from segsim.dataset.index import DatasetIndex
from segsim.dataset.labelspec import VOC_IGNORE_COLOR, voc_color
from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.progress import progress_bar

IMAGE_FORMATS = ("jpg", "png")


def palette_png(indices: np.ndarray, palette: np.ndarray) -> bytes:
    from PIL import Image

    im = Image.fromarray(indices.astype(np.uint8), mode="P")
    im.putpalette(palette.astype(np.uint8).reshape(-1).tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _encode_image(rgb: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    if fmt == "jpg":
        # no chroma subsampling: class edges keep their colours
        Image.fromarray(rgb).save(buf, format="JPEG", quality=95, subsampling=0)
        return buf.getvalue()
    return png.encode_photo(rgb)


def object_indices(instances: np.ndarray, mask: np.ndarray, ignore: int) -> np.ndarray:
    """Objects numbered 1..N in order of their instance id (VOC's SegmentationObject)."""
    out = np.zeros(instances.shape, np.uint8)
    ids = np.unique(instances[instances > 0])
    if ids.size > 254:
        raise SegsimError(
            f"a frame has {ids.size} objects; VOC's SegmentationObject holds at most 254",
            "use --format coco or cityscapes for crowded scenes",
        )
    for k, inst in enumerate(ids.tolist(), 1):
        out[instances == inst] = k
    out[mask == ignore] = 255
    return out


def write_voc(
    index: DatasetIndex, out: Path, progress: bool = True, image_format: str = "jpg"
) -> dict:
    if image_format not in IMAGE_FORMATS:
        raise SegsimError(
            f"image_format {image_format!r} is not one of {', '.join(IMAGE_FORMATS)}",
            "pass --image-format jpg or png",
            param="image_format",
        )
    labels = index.labels
    class_palette = labels.palette().copy()
    class_palette[labels.ignore_index] = VOC_IGNORE_COLOR
    object_palette = np.array([voc_color(i) for i in range(256)], np.uint8)
    object_palette[255] = VOC_IGNORE_COLOR
    items = list(frames(index))
    stems = [f.stem for f in items]
    prefix = len(set(stems)) != len(stems)  # ids are one flat namespace in VOC
    listing: dict[str, list[str]] = {}
    objects = 0
    with progress_bar(progress, "voc", len(items)) as advance:
        for f in items:
            fid = f"{f.split}_{f.stem}" if prefix else f.stem
            image, mask = index.load(f.image, f.mask)
            write_atomic(
                out / "JPEGImages" / f"{fid}.{image_format}", _encode_image(image, image_format)
            )
            write_atomic(out / "SegmentationClass" / f"{fid}.png", palette_png(mask, class_palette))
            if f.instances is not None:
                inst = read_instances(index, f.instances, mask.shape)
                obj = object_indices(inst, mask, labels.ignore_index)
                objects += int(obj[obj < 255].max(initial=0))
                write_atomic(
                    out / "SegmentationObject" / f"{fid}.png", palette_png(obj, object_palette)
                )
            listing.setdefault(f.split, []).append(fid)
            advance(1)
    for split, ids in listing.items():
        write_atomic(out / "ImageSets" / "Segmentation" / f"{split}.txt", "\n".join(ids) + "\n")
    spec = labels.to_dict()
    spec["ignore_color"] = list(VOC_IGNORE_COLOR)
    write_atomic(out / "labels.yaml", yaml.safe_dump(spec, sort_keys=False))
    return {
        "format": "voc",
        "frames": len(items),
        "objects": objects,
        "splits": {k: len(v) for k, v in listing.items()},
        "image_format": image_format,
    }


register_converter(
    Converter(
        "voc",
        "JPEGImages/ + SegmentationClass/ + SegmentationObject/ + ImageSets/",
        write_voc,
        ("image_format",),
    )
)
