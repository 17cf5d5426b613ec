"""`--format coco`: COCO instance segmentation, as pycocotools reads it.

OUT/images/<split>/<stem>.png                   RGB
OUT/annotations/instances_<split>.json          images, categories, annotations
Categories are the label set's classes but its background (class 0 when named or grouped
`background`); their ids are the segsim class ids (plus one when class 0 is a real class, as
COCO reserves 0), each with `segsim_id`. One annotation per object of the instance map (per
object and class, where parts of one object carry their own classes): an RLE mask, its bbox and
area, iscrowd 0. A layout without instance maps gets one annotation per class and image,
iscrowd 1 (a region, not one object).

With `panoptic=True` (`--panoptic`), also COCO panoptic:
OUT/annotations/panoptic_<split>.json           images, categories (+ isthing), annotations
                                                with segments_info
OUT/annotations/panoptic_<split>/<stem>.png     segment id = R + 256 G + 256^2 B, 0 = void
A class is a thing when any of its pixels belongs to an object of the instance map; things get
one segment per object (pixels of theirs outside any object: one crowd segment), stuff one per
class. Background and ignored pixels are void.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segsim.dataset import png
from segsim.dataset.convert.registry import Converter, register_converter
from segsim.dataset.convert.source import frames, read_instances
from segsim.dataset.index import DatasetIndex
from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.labels import LabelSet
from segsim.progress import progress_bar


def categories(labels: LabelSet) -> tuple[list[dict], dict[int, int]]:
    """(COCO categories, segsim class id -> category id)."""
    first = labels.labels[0]
    skip_bg = first.name == "background" or first.group == "background"
    offset = 0 if skip_bg else 1
    cats, ids = [], {}
    for lab in labels.labels[1:] if skip_bg else labels.labels:
        ids[lab.id] = lab.id + offset
        cats.append(
            {
                "id": lab.id + offset,
                "name": lab.name,
                "supercategory": lab.group,
                "segsim_id": lab.id,
                "color": list(lab.color),
            }
        )
    return cats, ids


def _rle(binary: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    return rle


def annotations(
    mask: np.ndarray,
    instances: np.ndarray | None,
    cat_ids: dict[int, int],
    image_id: int,
    next_id: int,
) -> list[dict]:
    """One annotation per (object, class) of the frame, or per class without instance maps."""
    from pycocotools import mask as mask_utils

    regions: list[tuple[np.ndarray, int, int]] = []  # (binary mask, category id, iscrowd)
    classes = np.isin(mask, np.array(sorted(cat_ids), np.int64))
    if instances is not None:
        keep = classes & (instances > 0)
        pairs = np.unique(np.stack([instances[keep], mask[keep].astype(np.int64)], 1), axis=0)
        for inst, cls in pairs.tolist():
            regions.append(((instances == inst) & (mask == cls), cat_ids[cls], 0))
    else:
        for cls in np.unique(mask[classes]).tolist():
            regions.append((mask == cls, cat_ids[cls], 1))
    out = []
    for binary, cat, crowd in regions:
        rle = _rle(binary)
        out.append(
            {
                "id": next_id + len(out),
                "image_id": image_id,
                "category_id": cat,
                "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode()},
                "area": int(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": crowd,
            }
        )
    return out


def panoptic_segments(
    mask: np.ndarray, instances: np.ndarray | None, cat_ids: dict[int, int]
) -> tuple[np.ndarray, list[dict]]:
    """(H x W int32 segment ids, 0 = void; one segment per (class, object), object 0 = the
    class's pixels outside any object: [{id, category_id, segsim_id, object, bbox, area}])."""
    from scipy.ndimage import find_objects

    seg = np.zeros(mask.shape, np.int32)
    inst = instances if instances is not None else np.zeros(mask.shape, np.int32)
    classes = np.isin(mask, np.array(sorted(cat_ids), np.int64))
    keys = (mask.astype(np.int64) << 32) | inst.astype(np.int64)
    uniq, inverse = np.unique(keys[classes], return_inverse=True)
    seg[classes] = inverse.reshape(-1) + 1  # one pass, not one per segment
    areas = np.bincount(seg.reshape(-1), minlength=len(uniq) + 1)
    segments = []
    for sid, (key, box) in enumerate(zip(uniq.tolist(), find_objects(seg), strict=True), 1):
        cls, obj = key >> 32, key & 0xFFFFFFFF
        ys, xs = box
        segments.append(
            {
                "id": sid,
                "category_id": cat_ids[cls],
                "segsim_id": cls,
                "object": obj,
                "bbox": [xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start],
                "area": int(areas[sid]),
            }
        )
    return seg, segments


def _segment_png(seg: np.ndarray) -> bytes:
    rgb = np.stack([seg & 255, (seg >> 8) & 255, (seg >> 16) & 255], -1).astype(np.uint8)
    return png.encode(rgb)


def _segments_info(segments: list[dict], things: set[int]) -> list[dict]:
    """COCO's segments_info: a thing's pixels outside any object are one crowd segment."""
    keys = ("id", "category_id", "bbox", "area")
    return [
        {
            **{k: s[k] for k in keys},
            "iscrowd": int(s["segsim_id"] in things and s["object"] == 0),
        }
        for s in segments
    ]


def write_coco(
    index: DatasetIndex, out: Path, progress: bool = True, panoptic: bool = False
) -> dict:
    try:
        import pycocotools  # noqa: F401
    except ImportError as e:
        raise SegsimError("--format coco needs pycocotools", "pip install 'segsim[formats]'") from e
    cats, cat_ids = categories(index.labels)
    items = list(frames(index))
    per_split: dict[str, dict] = {}
    pan_split: dict[str, dict] = {}
    things: set[int] = set()
    ann_id = 1
    with progress_bar(progress, "coco", len(items)) as advance:
        for image_id, f in enumerate(items, 1):
            image, mask = index.load(f.image, f.mask)
            inst = read_instances(index, f.instances, mask.shape) if f.instances else None
            doc = per_split.setdefault(
                f.split, {"images": [], "annotations": [], "categories": cats}
            )
            name = f"{f.stem}.png"
            write_atomic(out / "images" / f.split / name, png.encode_photo(image))
            doc["images"].append(
                {
                    "id": image_id,
                    "file_name": name,
                    "width": int(mask.shape[1]),
                    "height": int(mask.shape[0]),
                }
            )
            anns = annotations(mask, inst, cat_ids, image_id, ann_id)
            ann_id += len(anns)
            doc["annotations"].extend(anns)
            if panoptic:
                seg, segments = panoptic_segments(mask, inst, cat_ids)
                things |= {sg["segsim_id"] for sg in segments if sg["object"] > 0}
                write_atomic(out / "annotations" / f"panoptic_{f.split}" / name, _segment_png(seg))
                pan = pan_split.setdefault(f.split, {"images": [], "annotations": []})
                pan["images"].append(doc["images"][-1])
                pan["annotations"].append(
                    {
                        "image_id": image_id,
                        "file_name": name,
                        "segments_info": segments,  # finished once things are known
                    }
                )
            advance(1)
    for split, doc in per_split.items():
        doc["info"] = {"description": f"segsim dataset {index.root.name}, split {split}"}
        write_atomic(out / "annotations" / f"instances_{split}.json", json.dumps(doc) + "\n")
    for split, pan in pan_split.items():
        for a in pan["annotations"]:
            a["segments_info"] = _segments_info(a["segments_info"], things)
        pan["categories"] = [{**c, "isthing": int(c["segsim_id"] in things)} for c in cats]
        write_atomic(out / "annotations" / f"panoptic_{split}.json", json.dumps(pan) + "\n")
    return {
        "format": "coco",
        "frames": len(items),
        "annotations": ann_id - 1,
        "splits": {k: len(v["images"]) for k, v in per_split.items()},
    }


register_converter(
    Converter(
        "coco", "images/ + annotations/instances_<split>.json (RLE)", write_coco, ("panoptic",)
    )
)
