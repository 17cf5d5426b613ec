"""`--format cityscapes`: the Cityscapes folder layout, so its official scripts (and every tool
that reads Cityscapes) take a segsim dataset as it is.

OUT/leftImg8bit/<split>/<city>/<city>_000000_<frame>_leftImg8bit.png     RGB
OUT/gtFine/<split>/<city>/<...>_gtFine_labelIds.png      uint8 Cityscapes label id (0..33)
OUT/gtFine/<split>/<city>/<...>_gtFine_instanceIds.png   uint16: label id x 1000 + instance
                                                          index for instance classes, else
                                                          the plain label id (as Cityscapes)
OUT/gtFine/<split>/<city>/<...>_gtFine_color.png         the label colours
No `_polygons.json` (segsim has masks, not polygons). Classes map to Cityscapes labels by name
(case, `_` and `-` ignored; `background` counts as `unlabeled`), or through a label map
`name=cityscapes name,...` (or a YAML file of such pairs); the ignore index becomes 0
(`unlabeled`, not evaluated).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from segsim.cityscapes import BY_NAME, LABELS
from segsim.dataset import png
from segsim.dataset.convert.registry import Converter, register_converter
from segsim.dataset.convert.source import frames, read_instances
from segsim.dataset.index import DatasetIndex
from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.labels import LabelSet
from segsim.progress import progress_bar

ALIASES = {"background": "unlabeled"}
_BY_KEY = {re.sub(r"[\s_\-]+", " ", n.lower()): lab for n, lab in BY_NAME.items()}
_COLORS = np.zeros((256, 3), np.uint8)
for _lab in LABELS:
    _COLORS[_lab.id] = _lab.color
_HAS_INSTANCES = np.zeros(256, bool)
for _lab in LABELS:
    _HAS_INSTANCES[_lab.id] = _lab.has_instances


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def parse_label_map(spec: str | dict | None) -> dict[str, str]:
    """`"ball=car,floor=road"`, a YAML file of `{name: cityscapes name}`, or a dict."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, dict):
        return {str(k): str(v) for k, v in spec.items()}
    path = Path(spec).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
        from segsim.config import load_yaml

        data = load_yaml(path)
        if not isinstance(data, dict):
            raise SegsimError(f"label map {path} is not a mapping", "write `name: cityscapes name`")
        return {str(k): str(v) for k, v in data.items()}
    pairs = {}
    for item in spec.split(","):
        if "=" not in item:
            raise SegsimError(
                f"label_map entry {item!r} is not name=cityscapes name",
                "write e.g. --label-map 'ball=car,floor=road' or pass a YAML file",
                param="label_map",
            )
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    return pairs


def label_id_lut(labels: LabelSet, label_map: dict[str, str] | None = None) -> np.ndarray:
    """256-entry uint8 table: segsim class id -> Cityscapes label id (ignore -> 0)."""
    label_map = label_map or {}
    unknown_keys = sorted(set(label_map) - set(labels.names))
    if unknown_keys:
        raise SegsimError(
            f"label_map names {unknown_keys[0]!r}, which is not a class of the dataset "
            f"({', '.join(labels.names)})",
            "map the dataset's own class names",
            param="label_map",
        )
    lut = np.zeros(256, np.uint8)
    missing = []
    for lab in labels.labels:
        target = label_map.get(lab.name, lab.name)
        target = ALIASES.get(_key(target), target)
        cs = _BY_KEY.get(_key(target))
        if cs is None:
            missing.append(lab.name if target == lab.name else f"{lab.name}={target}")
            continue
        lut[lab.id] = cs.id
    if missing:
        raise SegsimError(
            f"classes {', '.join(missing)} are not Cityscapes labels "
            f"(e.g. road, car, person, sky; see segsim/cityscapes.py)",
            "map them with --label-map 'name=cityscapes name,...' (e.g. ball=car, "
            "floor=ground, other=unlabeled)",
            param="label_map",
        )
    lut[labels.ignore_index] = 0
    return lut


def instance_ids(label_ids: np.ndarray, instances: np.ndarray | None) -> np.ndarray:
    """Cityscapes' instanceIds: label id x 1000 + a 0-based index per (frame, label) on pixels of
    instance classes that belong to an object, the plain label id everywhere else."""
    out = label_ids.astype(np.uint16)
    if instances is None:
        return out
    keep = _HAS_INSTANCES[label_ids] & (instances > 0)
    if not keep.any():
        return out
    pairs = np.unique(np.stack([label_ids[keep].astype(np.int64), instances[keep]], 1), axis=0)
    counters: dict[int, int] = {}
    for lid, inst in pairs.tolist():
        k = counters.get(lid, 0)
        if k > 999:
            raise SegsimError(
                f"a frame has more than 1000 objects of Cityscapes label {lid}",
                "Cityscapes' instanceIds hold at most 1000 a label; split the scene",
            )
        counters[lid] = k + 1
        out[(label_ids == lid) & (instances == inst)] = lid * 1000 + k
    return out


def frame_name(stem: str, counter: int, city: str) -> str:
    """`<city>_000000_<frame>`: the frame number is the stem when it is a number."""
    return f"{city}_000000_{int(stem) if stem.isdigit() else counter:06d}"


def _check_city(city: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]+", city or ""):
        raise SegsimError(
            f"city {city!r} must be letters and digits only (Cityscapes' file names split on _)",
            "pass e.g. --city segsim",
            param="city",
        )
    return city


def write_cityscapes(
    index: DatasetIndex,
    out: Path,
    progress: bool = True,
    city: str = "segsim",
    label_map: str | dict | None = None,
) -> dict:
    city = _check_city(city)
    lut = label_id_lut(index.labels, parse_label_map(label_map))
    items = list(frames(index))
    names: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    with progress_bar(progress, "cityscapes", len(items)) as advance:
        for counter, f in enumerate(items):
            name = frame_name(f.stem, counter, city)
            if (f.split, name) in names:
                name = frame_name("x", counter, city)  # a numeric stem seen twice in a split
            names.add((f.split, name))
            image, mask = index.load(f.image, f.mask)
            inst = read_instances(index, f.instances, mask.shape) if f.instances else None
            ids = lut[mask]
            img_dir = out / "leftImg8bit" / f.split / city
            gt_dir = out / "gtFine" / f.split / city
            write_atomic(img_dir / f"{name}_leftImg8bit.png", png.encode_photo(image))
            write_atomic(gt_dir / f"{name}_gtFine_labelIds.png", png.encode(ids))
            write_atomic(
                gt_dir / f"{name}_gtFine_instanceIds.png", png.encode(instance_ids(ids, inst))
            )
            write_atomic(gt_dir / f"{name}_gtFine_color.png", png.encode(_COLORS[ids]))
            counts[f.split] = counts.get(f.split, 0) + 1
            advance(1)
    return {"format": "cityscapes", "frames": len(items), "splits": counts, "city": city}


def convert_predictions(
    predictions: str | Path,
    labels: LabelSet,
    out: str | Path,
    label_map: str | dict | None = None,
    overwrite: bool = False,
) -> dict:
    """`segsim predict` masks (class indices of `labels`) as Cityscapes result files: the same
    file names, label ids inside, as evalPixelLevelSemanticLabeling reads them."""
    from PIL import Image

    from segsim.dataset.convert.registry import check_out, write_folder

    predictions, out = Path(predictions).expanduser(), Path(out).expanduser()
    files = sorted(p for p in predictions.rglob("*.png") if not p.stem.endswith("_overlay"))
    if not files:
        raise SegsimError(
            f"{predictions} holds no prediction masks (*.png)",
            "pass the --output folder of `segsim predict`",
        )
    check_out(out, overwrite)
    lut = label_id_lut(labels, parse_label_map(label_map))
    n = labels.num_classes

    def fill(tmp: Path) -> dict:
        for p in files:
            with Image.open(p) as im:
                arr = np.array(im)
            if arr.ndim != 2 or arr.dtype != np.uint8 or (arr.size and arr.max() >= n):
                raise SegsimError(
                    f"{p} is not a class-index mask of {n} classes",
                    "pass the masks `segsim predict` wrote (not its overlays)",
                )
            write_atomic(tmp / p.relative_to(predictions), png.encode(lut[arr]))
        return {"format": "cityscapes", "predictions": len(files)}

    return write_folder(out, overwrite, fill)


register_converter(
    Converter(
        "cityscapes",
        "leftImg8bit/ + gtFine/ (labelIds, instanceIds, color)",
        write_cityscapes,
        ("city", "label_map"),
    )
)
