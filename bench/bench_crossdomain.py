"""Does a model trained on segsim's `shapes` hold up off its own renderer?

Three test sets of the same task (background, cube, sphere, cylinder), scored with one
confusion matrix each:

  in-domain      the dataset's own test split (segsim's GL renderer, its own backgrounds)
  photo-bg       segsim's GL renderer, but every background a crop of a real photograph
  other-render   a different renderer -- the numpy ray caster of tests/raycast.py, which shares
                 no code with segsim.render -- with its own shading (wrap-lit, hemisphere
                 ambient, 3D solid textures, supersampled), and real-photo backgrounds

The photographs are the ones scikit-image ships (astronaut, cat, coffee, rocket, motorcycle,
brick, grass, gravel, ...): real photos that are never in the training data. Scenes are drawn
with seeds the training set never used.

    python bench/bench_crossdomain.py --model bench/out/recipe/run [--count 48]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench.common import record

ROOT = Path(__file__).resolve().parents[1]

PHOTOS = [
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "brick",
    "grass",
    "gravel",
    "camera",
    "coins",
    "hubble_deep_field",
    "page",
    "moon",
]
HELD_OUT_SEED = 987_654  # never used by the recipe's generator


def photo_folder(dest: Path) -> Path:
    """Write scikit-image's bundled photographs as PNGs (RGB) into `dest`."""
    import skimage.data

    dest.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        img = getattr(skimage.data, name)()
        if isinstance(img, tuple):  # stereo pairs: the left view
            img = img[0]
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        cv2.imwrite(str(dest / f"{name}.png"), cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2BGR))
    return dest


def photo_crop(photos: list[np.ndarray], rng, size: int) -> np.ndarray:
    img = photos[rng.integers(len(photos))]
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(0.4, 1.0))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = img[y : y + side, x : x + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _normals_from_positions(p: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per-pixel normals from the world-position map, differencing only within one object."""
    dx = np.zeros_like(p)
    dy = np.zeros_like(p)
    same_x = index[:, 1:] == index[:, :-1]
    same_y = index[1:] == index[:-1]
    dx[:, :-1] = np.where(same_x[..., None], p[:, 1:] - p[:, :-1], 0)
    dx[:, -1] = dx[:, -2]
    dy[:-1] = np.where(same_y[..., None], p[1:] - p[:-1], 0)
    dy[-1] = dy[-2]
    n = np.cross(dx, dy)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(norm > 0, n / np.maximum(norm, 1e-12), 0)


def other_render(
    meta: dict, background: np.ndarray, rng, ss: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """RGB and class ids of a frame by ray casting the meta (no ground: the photo shows)."""
    from raycast import camera_rays, raycast

    cam = meta["camera"]
    w, h = int(cam["width"]), int(cam["height"])
    scene = {"camera": cam, "objects": meta["objects"], "ground": None}
    labels = raycast(scene)["class_ids"]
    big = dict(
        cam,
        width=w * ss,
        height=h * ss,
        K=(np.diag([ss, ss, 1.0]) @ np.asarray(cam["K"], float)).tolist(),
    )
    hit = raycast({"camera": big, "objects": meta["objects"], "ground": None})
    index, depth = hit["object_index"], hit["depth"].astype(np.float64)
    origin, dirs = camera_rays(big["K"], big["world_to_camera"], w * ss, h * ss)
    pos = origin + dirs * depth[..., None]
    normal = _normals_from_positions(pos, index)
    view = origin - pos
    view /= np.maximum(np.linalg.norm(view, axis=-1, keepdims=True), 1e-12)
    normal = np.where(
        (np.sum(normal * view, -1) < 0)[..., None], -normal, normal
    )  # face the camera

    light = rng.normal(size=3)
    light[2] = -abs(light[2])  # world z up: light comes from above
    light /= np.linalg.norm(light)
    to_light = -light
    bg = (
        cv2.resize(background, (w * ss, h * ss), interpolation=cv2.INTER_LINEAR).astype(np.float64)
        / 255
    )
    sky = bg.reshape(-1, 3).mean(0)  # ambient tinted by the photo, like an environment
    rgb = bg.copy()
    for i in range(len(meta["objects"])):
        m = index == i
        if not m.any():
            continue
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(40, 256), rng.integers(60, 256)]]])
        base = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
        n = normal[m]
        wrap = np.clip((n @ to_light + 0.5) / 1.5, 0, 1)  # half-Lambert "wrap" lighting
        up = np.clip(-n[:, 2] * 0.5 + 0.5, 0, 1)  # hemisphere ambient (z up)
        colour = base * (0.25 * (up[:, None] * sky + (1 - up[:, None]) * 0.3) + 0.9 * wrap[:, None])
        if rng.random() < 0.5:  # 3D solid texture, not UV
            f = rng.uniform(3, 12)
            band = 0.5 + 0.5 * np.sin(f * pos[m] @ rng.normal(size=3))
            colour *= (0.6 + 0.4 * band)[:, None]
        half = to_light + view[m]
        half /= np.maximum(np.linalg.norm(half, axis=-1, keepdims=True), 1e-12)
        colour += 0.35 * np.clip(np.sum(n * half, -1), 0, 1)[:, None] ** rng.uniform(8, 64)
        rgb[m] = colour
    rgb = cv2.resize(np.clip(rgb, 0, 1), (w, h), interpolation=cv2.INTER_AREA)  # supersampled AA
    return (rgb * 255 + 0.5).astype(np.uint8), labels


def score(pred_fn, frames, labels) -> dict:
    from segsim.metrics import ConfusionAccumulator

    acc = ConfusionAccumulator(labels.num_classes, labels.ignore_index)
    for rgb, gt in frames:
        acc.update(pred_fn(rgb), gt)
    return acc.compute(labels.names)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", default="bench/out/recipe/run", help="checkpoint, run folder or .onnx"
    )
    ap.add_argument(
        "--data", default="bench/out/recipe/data", help="the dataset the model was trained on"
    )
    ap.add_argument("--count", type=int, default=48, help="frames per off-domain test set")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument(
        "--picture", default="docs/crossdomain.png", help="grid of image | truth | prediction"
    )
    args = ap.parse_args()

    from segsim.dataset.meta import frame_meta
    from segsim.infer.evaluate import evaluate
    from segsim.infer.predictor import Predictor
    from segsim.render.gl import Renderer
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    if not Path(args.model).exists():
        print(
            f"no model at {args.model}: run bench/bench_train.py first (or pass --model)",
            file=sys.stderr,
        )
        return 2
    predictor = Predictor.load(args.model)
    labels = predictor.labels
    t0 = time.time()
    rng = np.random.default_rng(HELD_OUT_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(Path(tmp) / "photos")
        photos = [
            cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
            for p in sorted(folder.glob("*.png"))
        ]
        # The same scene distribution as training, but photographs behind and no ground plane.
        # (Weight dicts merge key by key, so every other kind is set to 0 explicitly.)
        kinds = {k: 0.0 for k in load_scene_config("shapes").background.kinds} | {"image": 1.0}
        cfg = load_scene_config(
            "shapes",
            overrides={
                "background": {"kinds": kinds, "image_dir": str(folder)},
                "ground": {"probability": 0.0},
            },
        )
        renderer = Renderer(args.size, args.size)
        photo_bg, other = [], []
        for i in range(args.count):
            scene = sample_scene(cfg, HELD_OUT_SEED, i, args.size, args.size)
            frame = renderer.render(scene)
            photo_bg.append((frame.rgb, frame.class_ids))
            meta = frame_meta(scene, i, "test", HELD_OUT_SEED)
            other.append(other_render(meta, photo_crop(photos, rng, args.size), rng))
        renderer.release()
    made = time.time() - t0

    sets = {"photo-bg": photo_bg, "other-render": other}
    if Path(args.data).exists():
        sets = {"in-domain": None, **sets}  # scored by segsim evaluate's own code
    rows = []
    for name, frames in sets.items():
        for tta in (None, "flip"):
            if frames is None:
                m = evaluate(
                    predictor, args.data, "test", tta=tta, samples=0, progress=False, limit=200
                )
                n = m["num_images"]
            else:
                m, n = (
                    score(lambda im, t=tta: predictor.predict(im, tta=t), frames, labels),
                    len(frames),
                )
            key = name + (" + flip TTA" if tta else "")
            rows.append(
                {
                    "figure": f"test mIoU, {key} ({n} frames)",
                    "unit": "mIoU",
                    "median": m["miou"],
                    "min": m["miou"],
                    "max": m["miou"],
                    "n": 1,
                }
            )
            per = ", ".join(
                f"{c} {v['iou']:.3f}" for c, v in m["per_class"].items() if v["iou"] is not None
            )
            print(f"{key:<28} mIoU {m['miou']:.3f}  ({per})")
    if args.picture:
        write_picture(Path(args.picture), [photo_bg[:3], other[:3]], predictor, labels)
    record(
        "crossdomain",
        rows,
        "python bench/bench_crossdomain.py --model " + args.model,
        notes=f"Model: `{args.model}`. Off-domain sets made in {made:.0f} s. "
        "Real photos: scikit-image's "
        f"bundled {', '.join(PHOTOS)}. Picture: `{args.picture}`.",
    )
    return 0


def write_picture(path: Path, groups, predictor, labels) -> None:
    rows = []
    for frames in groups:
        for rgb, gt in frames:
            pred = predictor.predict(rgb)
            rows.append(np.concatenate([rgb, labels.colorize(gt), labels.colorize(pred)], 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    sys.exit(main())
