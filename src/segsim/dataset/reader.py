"""Read labelled image folders into (LabelSet, [(image_path, mask_path), ...]) per split.

Three layouts, detected from what is in the folder:

* **segsim**: `dataset.yaml` (label set, splits) + `images/<split>/<id>.png` and
  `labels/<split>/<id>.png` (uint8 class index), as written by `segsim generate`.
* **voc** (Pascal VOC style): `JPEGImages/<id>.jpg`, `SegmentationClass/<id>.png` (palette PNG
  whose indices are the classes, 255 = ignore), `ImageSets/Segmentation/<split>.txt`. The label
  set is VOC's 21 classes unless a `labels.yaml` in the folder (or `palette` given) says otherwise.
* **folder**: `images/` + `masks/` paired by file stem, either with split subfolders
  (`images/train`, `masks/train`, ...) or flat and split at random with a fixed seed. Masks are
  class indices (grayscale or palette PNG) or colours mapped through a palette: a `labels.yaml`
  in the folder, or one passed in (`palette=`).

Every problem a user can fix (no pairs, an image without a mask, a size mismatch, an unknown
colour, an unreadable file, a missing split) raises SegsimError naming the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segsim.dataset.layout import DATASET_YAML, SPLITS
from segsim.errors import SegsimError
from segsim.labels import IGNORE_INDEX, Label, LabelSet, default_color

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MASK_EXTS = (".png", ".bmp", ".tif", ".tiff")
LABEL_FILES = ("labels.yaml", "labels.yml", "palette.yaml", "palette.yml")
LAYOUTS = ("segsim", "voc", "folder")

VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
               "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
               "sheep", "sofa", "train", "tvmonitor"]


def voc_color(i: int) -> tuple[int, int, int]:
    """Pascal VOC's colour for class i (the bit-interleaving colormap of the VOC devkit)."""
    r = g = b = 0
    c = i
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def voc_labels() -> LabelSet:
    return LabelSet([Label(i, n, voc_color(i), "background" if i == 0 else "default")
                     for i, n in enumerate(VOC_CLASSES)])


# --- label specs --------------------------------------------------------------------------------

def parse_label_spec(data: Any, source: str) -> tuple[LabelSet, tuple[int, int, int] | None]:
    """A label set from the forms people write by hand; also returns the ignore colour, if any.

    Accepted: a LabelSet dict (`labels: [{id, name, color, group}]`), `labels: [{name, color}]`
    (ids by order), `labels: [name, ...]`, or a plain mapping `{name: [r, g, b], ...}`.
    Optional top-level keys: `ignore_index` (default 255), `ignore_color` ([r, g, b]).
    """
    hint = "write `labels: [{name: background, color: [0, 0, 0]}, ...]` (ids follow the order)"
    ignore_color = None
    ignore_index = IGNORE_INDEX
    items: Any = data
    if isinstance(data, dict) and "labels" in data:
        items = data["labels"]
        ignore_index = int(data.get("ignore_index", IGNORE_INDEX))
        if data.get("ignore_color") is not None:
            ignore_color = _color(data["ignore_color"], source)
    elif isinstance(data, dict):
        items = [{"name": k, "color": v} for k, v in data.items()]
    if not isinstance(items, list) or not items:
        raise SegsimError(f"{source}: no labels found", hint)
    labels = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            labels.append(Label(i, item, default_color(i), "background" if i == 0 else "default"))
        elif isinstance(item, dict) and "name" in item:
            lid = int(item.get("id", i))
            color = _color(item["color"], source) if item.get("color") is not None else default_color(lid)
            labels.append(Label(lid, str(item["name"]), color, str(item.get("group", "default"))))
        else:
            raise SegsimError(f"{source}: label entry {i} ({item!r}) has no name", hint)
    labels.sort(key=lambda lab: lab.id)
    return LabelSet(labels, ignore_index), ignore_color


def _color(value: Any, source: str) -> tuple[int, int, int]:
    if isinstance(value, str) and value.startswith("#") and len(value) == 7:
        return tuple(int(value[k:k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]
    try:
        rgb = tuple(int(c) for c in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise SegsimError(f"{source}: colour {value!r} is not [r, g, b] with values 0..255",
                          "write colours as [r, g, b] or '#rrggbb'")
    return rgb  # type: ignore[return-value]


def _load_label_file(path: Path) -> tuple[LabelSet, tuple[int, int, int] | None]:
    from segsim.config import load_yaml

    return parse_label_spec(load_yaml(path), str(path))


# --- decoding -------------------------------------------------------------------------------------

def read_image(path: str | Path) -> np.ndarray:
    """H x W x 3 uint8 RGB (decoded with OpenCV, the fastest decoder we have)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SegsimError(f"cannot read image {path}", "replace or delete the file (it is missing, "
                          "truncated or not an image)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


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
                arr = np.array(im.convert("RGB") if mode in ("RGBA", "LA", "CMYK", "YCbCr") else im)
        except (OSError, ValueError, SyntaxError) as e:
            raise SegsimError(f"cannot read mask {path}: {e}",
                              "replace or delete the file (it is missing, truncated or not an image)") from e
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
            raise SegsimError(f"mask {path} holds class id {int(bad[0]) if bad.size else int(values[0])}, "
                              f"but the label set has {n} classes (0..{n - 1}, {ign} = ignore)",
                              "fix the mask, or list every class in labels.yaml (or the config's data.palette)")
        return arr.astype(np.uint8, copy=False)

    def _from_colors(self, rgb: np.ndarray, path) -> np.ndarray:
        if not self.allow_color:
            raise SegsimError(f"mask {path} is a colour image, but this layout stores class indices",
                              "write masks as single-channel class-index PNGs")
        codes = _code_array(rgb)
        uniq, inverse = np.unique(codes, return_inverse=True)
        unknown = [c for c in uniq.tolist() if c not in self._lut]
        if unknown:
            if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
                return self._check_ids(rgb[..., 0], path)  # a class-index mask saved as grey RGB
            c = unknown[0]
            color = [(c >> 16) & 255, (c >> 8) & 255, c & 255]
            names = ", ".join(self.labels.names[:8]) + ("..." if len(self.labels) > 8 else "")
            raise SegsimError(f"mask {path} has colour {color}, which is not in the palette "
                              f"({len(self.labels)} classes: {names})",
                              "add the colour to labels.yaml (or data.palette), or fix the mask")
        ids = np.array([self._lut[c] for c in uniq.tolist()], np.uint8)
        return ids[inverse.reshape(codes.shape)]


def _code(color) -> int:
    r, g, b = (int(c) for c in color)
    return (r << 16) | (g << 8) | b


def _code_array(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def load_pair(image_path: Path, mask_path: Path, decode_mask: MaskDecoder) -> tuple[np.ndarray, np.ndarray]:
    """(image RGB uint8, mask uint8) with the sizes checked against each other."""
    image = read_image(image_path)
    mask = decode_mask(mask_path)
    if image.shape[:2] != mask.shape[:2]:
        raise SegsimError(f"image {image_path} is {image.shape[1]}x{image.shape[0]} but its mask {mask_path} "
                          f"is {mask.shape[1]}x{mask.shape[0]}",
                          "re-export the mask at the image's size (or delete the pair)")
    return image, mask


# --- layouts ---------------------------------------------------------------------------------------

@dataclass
class DatasetIndex:
    """What a folder holds: its layout, label set, mask decoder and the pairs of every split."""

    root: Path
    layout: str
    labels: LabelSet
    splits: dict[str, list[tuple[Path, Path]]]
    decoder: MaskDecoder

    def split(self, name: str) -> list[tuple[Path, Path]]:
        pairs = self.splits.get(name)
        if not pairs:
            have = ", ".join(f"{k} ({len(v)})" for k, v in self.splits.items() if v) or "none"
            raise SegsimError(f"{self.root} has no '{name}' split (splits found: {have})",
                              _split_fix(self.layout, name))
        return pairs

    def load(self, image_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray]:
        return load_pair(image_path, mask_path, self.decoder)


def _split_fix(layout: str, name: str) -> str:
    return {
        "segsim": "generate the dataset with a non-zero fraction for that split",
        "voc": f"add ImageSets/Segmentation/{name}.txt listing the image ids of that split",
        "folder": f"add images/{name} and masks/{name}, or use flat images/ + masks/ folders "
                  "to have them split at random",
    }[layout]


def detect_layout(root: Path) -> str:
    if (root / DATASET_YAML).is_file():
        return "segsim"
    if (root / "JPEGImages").is_dir() and (root / "SegmentationClass").is_dir():
        return "voc"
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return "folder"
    raise SegsimError(f"{root} is not a dataset folder I know (found no dataset.yaml, no "
                      "JPEGImages/ + SegmentationClass/, no images/ + masks/)",
                      "pass a folder written by `segsim generate`, a Pascal VOC folder, or one with "
                      "images/ and masks/ paired by file name")


def open_dataset(root: str | Path, layout: str = "auto", palette: Any = None,
                 split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                 split_seed: int = 0) -> DatasetIndex:
    """Index a dataset folder. `palette` (a label-spec dict/list or a path to one) overrides the
    folder's own label set for voc/folder layouts; `split_fractions`/`split_seed` split a flat
    images/ + masks/ folder into train/val/test."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SegsimError(f"dataset folder not found: {root}", "pass an existing folder with --data")
    if layout == "voc" or layout == "auto":
        for sub in ("VOC2012", "VOCdevkit/VOC2012"):  # accept the devkit's parent folders too
            if not (root / "JPEGImages").is_dir() and (root / sub / "JPEGImages").is_dir():
                root = root / sub
    if layout == "auto":
        layout = detect_layout(root)
    if layout not in LAYOUTS:
        raise SegsimError(f"unknown dataset layout {layout!r}", f"use one of auto, {', '.join(LAYOUTS)}")
    given = _given_palette(palette)
    if layout == "segsim":
        return _open_segsim(root)
    if layout == "voc":
        return _open_voc(root, given)
    return _open_folder(root, given, split_fractions, split_seed)


def read_split(root: str | Path, split: str, **kwargs) -> tuple[LabelSet, list[tuple[Path, Path]]]:
    """The contract's short form: (label set, [(image_path, mask_path), ...]) of one split."""
    index = open_dataset(root, **kwargs)
    return index.labels, index.split(split)


def _given_palette(palette: Any):
    if palette is None:
        return None
    if isinstance(palette, (str, Path)):
        return _load_label_file(Path(palette).expanduser())
    return parse_label_spec(palette, "data.palette")


def _folder_label_file(root: Path):
    for name in LABEL_FILES:
        if (root / name).is_file():
            return _load_label_file(root / name)
    return None


def _open_segsim(root: Path) -> DatasetIndex:
    from segsim.config import load_yaml

    meta = load_yaml(root / DATASET_YAML)
    if "labels" not in meta:
        raise SegsimError(f"{root / DATASET_YAML} has no 'labels' list", "regenerate the dataset with `segsim generate`")
    labels = LabelSet.from_dict({"labels": meta["labels"], "ignore_index": meta.get("ignore_index", IGNORE_INDEX)})
    splits: dict[str, list[tuple[Path, Path]]] = {}
    for split in SPLITS:
        img_dir = root / "images" / split
        if not img_dir.is_dir():
            continue
        pairs = []
        for img in sorted(img_dir.iterdir()):
            if img.suffix.lower() not in IMAGE_EXTS:
                continue
            mask = root / "labels" / split / f"{img.stem}.png"
            if not mask.is_file():
                raise SegsimError(f"image {img} has no label mask {mask}",
                                  "regenerate the frame (`segsim generate` resumes), or delete the image")
            pairs.append((img, mask))
        splits[split] = pairs
    if not any(splits.values()):
        raise SegsimError(f"{root} has a dataset.yaml but no images under images/<split>/",
                          "generate frames into it with `segsim generate`")
    return DatasetIndex(root, "segsim", labels, splits, MaskDecoder(labels, allow_color=False))


def _open_voc(root: Path, given) -> DatasetIndex:
    labels, ignore_color = given or _folder_label_file(root) or (voc_labels(), (224, 224, 192))
    sets = root / "ImageSets" / "Segmentation"
    splits: dict[str, list[tuple[Path, Path]]] = {}
    for split in SPLITS:
        listing = sets / f"{split}.txt"
        if not listing.is_file():
            continue
        pairs = []
        for line_no, line in enumerate(listing.read_text().splitlines(), 1):
            fid = line.strip().split(" ")[0]
            if not fid:
                continue
            img = _find_with_ext(root / "JPEGImages", fid, IMAGE_EXTS)
            if img is None:
                raise SegsimError(f"{listing} line {line_no} names {fid!r}, but JPEGImages/{fid}.jpg does not exist",
                                  "add the image or remove the line")
            mask = root / "SegmentationClass" / f"{fid}.png"
            if not mask.is_file():
                raise SegsimError(f"{listing} line {line_no} names {fid!r}, but its mask {mask} does not exist",
                                  "add the mask or remove the line")
            pairs.append((img, mask))
        splits[split] = pairs
    if not any(splits.values()):
        raise SegsimError(f"{sets} has no train.txt/val.txt/test.txt listing images",
                          "add ImageSets/Segmentation/train.txt and val.txt (one image id per line)")
    return DatasetIndex(root, "voc", labels, splits, MaskDecoder(labels, ignore_color))


def _find_with_ext(folder: Path, stem: str, exts) -> Path | None:
    for ext in exts:
        for cand in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if cand.is_file():
                return cand
    return None


def _pairs_by_stem(img_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    images = {p.stem: p for p in sorted(img_dir.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_EXTS}
    masks = {p.stem: p for p in sorted(mask_dir.iterdir()) if p.is_file() and p.suffix.lower() in MASK_EXTS}
    if not images:
        raise SegsimError(f"no images in {img_dir}", f"put images ({', '.join(IMAGE_EXTS)}) there")
    lonely = sorted(set(images) - set(masks))
    if lonely:
        raise SegsimError(f"image {images[lonely[0]]} has no mask in {mask_dir} "
                          f"({len(lonely)} image(s) without a mask)",
                          f"add {mask_dir / (lonely[0] + '.png')} or remove the image; masks pair with "
                          "images by file name without extension")
    return [(images[s], masks[s]) for s in sorted(images)]


def _open_folder(root: Path, given, split_fractions, split_seed: int) -> DatasetIndex:
    img_root, mask_root = root / "images", root / "masks"
    split_dirs = [s for s in SPLITS if (img_root / s).is_dir()]
    splits: dict[str, list[tuple[Path, Path]]] = {}
    if split_dirs:
        for split in split_dirs:
            if not (mask_root / split).is_dir():
                raise SegsimError(f"{img_root / split} has no matching {mask_root / split}",
                                  f"put the masks of the {split} images in {mask_root / split}")
            splits[split] = _pairs_by_stem(img_root / split, mask_root / split)
    else:
        pairs = _pairs_by_stem(img_root, mask_root)
        splits = random_split(pairs, split_fractions, split_seed)
    found = given or _folder_label_file(root)
    if found is None:
        labels, ignore_color = _infer_index_labels(root, splits), None
    else:
        labels, ignore_color = found
    return DatasetIndex(root, "folder", labels, splits, MaskDecoder(labels, ignore_color))


def random_split(pairs: list, fractions, seed: int) -> dict[str, list]:
    """Shuffle with a fixed seed and cut into train/val/test (each non-empty fraction gets >= 1)."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise SegsimError(f"split fractions {list(fractions)} must be three non-negative numbers",
                          "write e.g. data.split_fractions=[0.8,0.1,0.1]")
    total = float(sum(fractions))
    order = np.random.default_rng(seed).permutation(len(pairs))
    n = len(pairs)
    n_val = max(1, round(n * fractions[1] / total)) if fractions[1] > 0 and n >= 3 else 0
    n_test = max(1, round(n * fractions[2] / total)) if fractions[2] > 0 and n >= 3 else 0
    n_train = n - n_val - n_test
    idx = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    return {k: [pairs[i] for i in sorted(v)] for k, v in idx.items()}


def _infer_index_labels(root: Path, splits) -> LabelSet:
    """No labels.yaml: masks must be class indices; the classes are 0..max id seen."""
    from PIL import Image

    top = 0
    for pairs in splits.values():
        for _, mask in pairs:
            try:
                with Image.open(mask) as im:
                    if im.mode not in ("L", "P", "I", "I;16"):
                        raise SegsimError(f"mask {mask} is a colour image ({im.mode}) but {root} has no "
                                          "labels.yaml saying which colour is which class",
                                          f"write {root / 'labels.yaml'} with `labels: [{{name: ..., color: "
                                          "[r, g, b]}, ...]`, or pass data.palette")
                    arr = np.asarray(im)
            except OSError as e:
                raise SegsimError(f"cannot read mask {mask}: {e}", "replace or delete the file") from e
            values = arr[arr != IGNORE_INDEX]
            if values.size:
                top = max(top, int(values.max()))
    return LabelSet.from_names([f"class_{i}" for i in range(top + 1)])
