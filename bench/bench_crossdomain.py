"""The transfer report: does a model trained on segsim hold up on images segsim did not draw?

Three test sets of the same task (background, cube, sphere, cylinder), scored with one
confusion matrix each, every one drawn with seeds no training set uses:

  in-domain      segsim's GL renderer, the `shapes` preset as it is (or, with --model and
                 --data, the dataset's own test split)
  photo-bg       segsim's GL renderer, but every background a crop of a real photograph
  other-render   a different renderer -- the numpy ray caster of tests/raycast.py, which shares
                 no code with segsim.render -- with its own shading (wrap-lit, hemisphere
                 ambient, 3D solid textures, supersampled), and real-photo backgrounds

The photographs are the ones scikit-image ships (astronaut, cat, coffee, rocket, motorcycle,
brick, grass, gravel, ...): real photos that are never in the training data (the photos
library that training draws from never reads scikit-image's folder; checked below).

Two modes:

    python bench/bench_crossdomain.py --model bench/out/recipe/run [--count 48]
        scores one trained model on the three sets (records `crossdomain`)

    python bench/bench_crossdomain.py --report --minutes 4.75 [--count 2000 --size 256]
        the transfer report (records `transfer`): for each training variant -- `shapes` as it
        is, `transfer` (every randomization for transfer on: photo backgrounds and textures,
        distractors in front and photo cut-outs, objects cut by the frame and empty frames,
        sensor effects, strong augmentation) and the ablations (`transfer` with one of them
        off in turn) -- generate its dataset (seed 0), train it for the same --minutes, and
        score it on the three sets. `--variants a,b` runs some only; `--stream` trains
        each variant from the renderer (`segsim train --stream shapes`, the variant's overrides
        as its scene config) instead of a fixed set. Each variant's rows are recorded as soon
        as it is scored; `--rescore` scores a variant's finished run again without training.
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

from bench.common import merge_rows, record

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


# Every randomization for transfer on (scene config overrides of `shapes`); each ablation
# turns one of them off. The preset took photo backgrounds (and the recipe photo backdrops) on
# 2026-12-04, when three seeds at the demo budget showed them helping (README, "Randomizing for
# transfer"); the rest costs in-domain accuracy at that budget.
TRANSFER = {
    "background": {"kinds": {"photo": 4.0}},  # the preset's: beside its procedural kinds (6.5)
    "material": {"texture": {"probability": 0.6, "kinds": {"photo": 2.0}}},
    # the ground as every report so far measured it: until a partial ground.material merged over
    # the ground's own defaults (2026-12-02) this override gave it the objects' material ranges
    "ground": {
        "material": {
            "saturation": [0.0, 1.0],
            "value": [0.15, 1.0],
            "specular": [0.0, 0.8],
            "texture": {
                "probability": 0.5,
                "kinds": {
                    "checker": 1.0,
                    "stripes": 1.0,
                    "noise": 1.5,
                    "gradient": 1.0,
                    "photo": 2.0,
                },
                "scale": [2.0, 10.0],
            },
        }
    },
    "distractors": {
        "count": [2, 8],
        "shapes": {"cone": 1.0, "torus": 1.0, "capsule": 1.0},
        "in_front": 0.3,
        "cards": [0, 3],
    },
    "visibility": {"empty": 0.05, "partial": 0.25},
    "postfx": {"sensor": {}},
}
STRONG = {"strong": True}  # photometric augmentation for photos (train/augment.py)
# the training side of photo backgrounds: a new photo behind the objects every epoch (the
# recipe's `auto` on generated folders; every other variant trains with it off unless it says)
BACKDROPS = {"photo_background": 0.5}
NO_PHOTOS = {"background": {"kinds": {"photo": 0.0}}}  # the preset until 2026-12-04
PRESET_BEFORE = "shapes, no photos (the preset before 2026-12-04)"
# light from overcast skies and softboxes: shading wraps past the terminator (scene/config.py)
SOFT_LIGHT = {"wrap": [0.0, 1.0]}
# The preset plus only the randomizations that cost in-domain accuracy the least: real photos
# behind (and on) the solids and the camera's own effects; no extra distractors or cut-offs.
LIGHT = {
    "shapes + photo backgrounds": ({"background": TRANSFER["background"]}, {}),
    "shapes + photo backdrops": (NO_PHOTOS, BACKDROPS),
    "shapes + photo backgrounds + soft light": (
        {"background": TRANSFER["background"], "lights": SOFT_LIGHT},
        {},
    ),
    "shapes + photo backgrounds and backdrops": (None, BACKDROPS),  # the preset and recipe
    "shapes + photos + sensor": (
        {k: TRANSFER[k] for k in ("background", "material", "ground", "postfx")},
        {},
    ),
    "shapes + more photos + sensor": (
        {
            **{k: TRANSFER[k] for k in ("material", "ground", "postfx")},
            "background": {"kinds": {"photo": 8.0}},
        },
        {},
    ),
}
ABLATIONS = {
    "no photo backgrounds": {"background": {"kinds": {"photo": 0.0}}},
    "no photo textures": {
        "material": {"texture": {"kinds": {"photo": 0.0}}},
        "ground": {"material": {"texture": {"kinds": {"photo": 0.0}}}},
    },
    "no extra distractors": {"distractors": {"count": [0, 3], "in_front": 0.0, "cards": [0, 0]}},
    "no visibility knobs": {"visibility": {"empty": 0.0, "partial": 0.0}},
    "no sensor effects": {"postfx": {"sensor": None}},
    "no strong augmentation": "train",  # the training side: augment.strong off
}


def variants() -> dict[str, tuple[dict | None, dict]]:
    """{name: (scene overrides of `shapes` or None for the preset, augment overrides)}."""
    from segsim.config import deep_merge

    out = {
        "shapes (preset)": (None, {"photo_background": "auto"}),  # as `segsim train` trains it
        PRESET_BEFORE: (NO_PHOTOS, {}),
        **LIGHT,
        "transfer": (TRANSFER, STRONG),
    }
    for name, off in ABLATIONS.items():
        if off == "train":
            out[f"transfer, {name}"] = (TRANSFER, {})
        else:
            out[f"transfer, {name}"] = (deep_merge(TRANSFER, off), STRONG)
    return out


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def variant_folder(name: str, args) -> str:
    """The folder name of a variant's data and run: its slug, and the seed when not 0."""
    return _slug(name) + (f"-seed{args.seed}" if args.seed else "")


def check_held_out(photos_dir: Path) -> None:
    """The photos library (what training draws from) never holds scikit-image's photographs."""
    import skimage

    from segsim.assets.photos import SOURCES, source_photos

    sk = str(Path(skimage.__file__).parent)
    for source in SOURCES:
        for p in source_photos(source):
            if p.origin.startswith(sk) or p.origin.startswith(str(photos_dir)):
                raise SystemExit(f"held-out photo {p.origin} is in the photos library")


def make_test_sets(count: int, size: int, folder: Path, with_in_domain: bool) -> tuple[dict, float]:
    """{set name: [(rgb, class ids)]} for the off-domain sets (and a rendered in-domain set)."""
    from segsim.dataset.meta import frame_meta
    from segsim.render.gl import Renderer
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    t0 = time.time()
    rng = np.random.default_rng(HELD_OUT_SEED)
    photos = [
        cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(folder.glob("*.png"))
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
    # in-domain: the procedural frames every report has scored (the preset drew no photos before
    # 2026-12-04), so its figures stay comparable across the change
    plain = load_scene_config("shapes", overrides=NO_PHOTOS)
    renderer = Renderer(size, size)
    sets: dict = {"in-domain": [], "photo-bg": [], "other-render": []}
    for i in range(count):
        if with_in_domain:
            frame = renderer.render(sample_scene(plain, HELD_OUT_SEED + 1, i, size, size))
            sets["in-domain"].append((frame.rgb, frame.class_ids))
        scene = sample_scene(cfg, HELD_OUT_SEED, i, size, size)
        frame = renderer.render(scene)
        sets["photo-bg"].append((frame.rgb, frame.class_ids))
        meta = frame_meta(scene, i, "test", HELD_OUT_SEED)
        sets["other-render"].append(other_render(meta, photo_crop(photos, rng, size), rng))
    renderer.release()
    if not with_in_domain:
        del sets["in-domain"]
    return sets, time.time() - t0


def _miou_row(figure: str, m: dict, n: int, **extra) -> dict:
    return {
        "figure": figure,
        "unit": "mIoU",
        "median": m["miou"],
        "min": m["miou"],
        "max": m["miou"],
        "n": 1,
        "frames": n,
        **extra,
    }


def score_model(args) -> int:
    from segsim.infer.evaluate import evaluate
    from segsim.infer.predictor import Predictor

    if not Path(args.model).exists():
        print(
            f"no model at {args.model}: run bench/bench_train.py first (or pass --model)",
            file=sys.stderr,
        )
        return 2
    predictor = Predictor.load(args.model)
    labels = predictor.labels
    with tempfile.TemporaryDirectory() as tmp:
        sets, made = make_test_sets(args.count, args.size, photo_folder(Path(tmp) / "p"), False)
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
            rows.append(_miou_row(f"test mIoU, {key} ({n} frames)", m, n))
            per = ", ".join(
                f"{c} {v['iou']:.3f}" for c, v in m["per_class"].items() if v["iou"] is not None
            )
            print(f"{key:<28} mIoU {m['miou']:.3f}  ({per})")
    if args.picture:
        write_picture(
            Path(args.picture), [sets["photo-bg"][:3], sets["other-render"][:3]], predictor, labels
        )
    record(
        "crossdomain",
        rows,
        "python bench/bench_crossdomain.py --model " + args.model,
        notes=f"Model: `{args.model}`. Off-domain sets made in {made:.0f} s. "
        "Real photos: scikit-image's "
        f"bundled {', '.join(PHOTOS)}. Picture: `{args.picture}`.",
    )
    return 0


def train_variant(name, overrides, augment, args, work: Path) -> tuple[Path, dict, float]:
    """Generate the variant's training set (--seed) and train it for --minutes."""
    import shutil

    from segsim.dataset.generate import generate_dataset
    from segsim.errors import SegsimError
    from segsim.scene.config import load_scene_config
    from segsim.train.config import load_train_config

    if args.stream:
        return stream_variant(name, overrides, augment, args, work)
    data = work / variant_folder(name, args) / "data"
    cfg = load_scene_config("shapes", overrides=overrides)
    t0 = time.time()

    def generate():
        generate_dataset(data, cfg, args.train_count, args.size, args.size, seed=args.seed,
                         progress=False, preset="shapes")  # fmt: skip

    try:
        generate()  # resumes (or reuses) the frames of an earlier run with the same settings
    except SegsimError:
        shutil.rmtree(data)  # another variant's settings, or half written: start over
        generate()
    gen_s = time.time() - t0
    tcfg = load_train_config(None, {"data": {"root": str(data)}, **train_overrides(augment, args)})
    return data.parent / "run", trained(tcfg, data.parent / "run", args), gen_s


def trained(tcfg, run: Path, args) -> dict:
    """Train into `run` (its summary kept beside it), or with --rescore reuse a finished run."""
    import json
    import shutil

    from segsim.train.trainer import train

    kept = run.parent / "summary.json"
    if args.rescore and kept.is_file() and (run / "best.ckpt").is_file():
        return json.loads(kept.read_text())
    if run.exists():
        shutil.rmtree(run)
    kept.unlink(missing_ok=True)
    summary = train(tcfg, run, progress=False)
    kept.write_text(json.dumps(summary, indent=1))
    return summary


def train_overrides(augment: dict, args) -> dict:
    # the budget: --minutes of the trainer's clock, or (--epochs) a fixed number of steps,
    # which a shared, loaded machine cannot skew
    budget = (
        {"max_minutes": None, "epochs": args.epochs}
        if args.epochs
        else {"max_minutes": args.minutes, "epochs": 10_000}
    )
    quiet = {"progress": False, "plot": False, "early_stopping": None, "seed": args.seed}
    return {
        "augment": {"strong": False, "photo_background": 0.0, **augment},
        "trainer": quiet | budget,
    }


def stream_variant(name, overrides, augment, args, work: Path) -> tuple[Path, dict, float]:
    """Train the variant straight from the renderer (`segsim train --stream shapes` with the
    variant's overrides as its scene config): every training frame new, photo crops included."""
    import yaml

    from segsim.config import deep_merge
    from segsim.train.config import load_train_config

    folder = work / "stream" / variant_folder(name, args)
    folder.mkdir(parents=True, exist_ok=True)
    section = {"preset": "shapes", "size": args.size, "eval_dir": str(folder / "eval")}
    section["seed"] = args.seed  # the scene seed of the training frames (and of its val split)
    if overrides:
        scene = folder / "scene.yaml"
        scene.write_text(yaml.safe_dump(overrides))
        section["scene_config"] = str(scene)
    tcfg = load_train_config(None, deep_merge(train_overrides(augment, args), {"stream": section}))
    return folder / "run", trained(tcfg, folder / "run", args), 0.0


def budget_label(args) -> str:
    label = f"{args.epochs} epochs" if args.epochs else f"{args.minutes:g} min"
    label += ", stream" if args.stream else ""
    return label + (f", seed {args.seed}" if args.seed else "")


def run_of(row: dict):
    """A row's (budget, variant): a report of some variants adds to the record, or redoes them."""
    return (row["budget"], row["variant"]) if "budget" in row else None


def report(args) -> int:
    from segsim.infer.predictor import Predictor
    from segsim.scene.config import load_scene_config

    work = Path(args.work)
    chosen = variants()
    if args.variants:
        # ';' separates names that hold commas ("transfer, no photo textures")
        sep = ";" if ";" in args.variants else ","
        wanted = [v.strip() for v in args.variants.split(sep) if v.strip()]
        unknown = [v for v in wanted if v not in chosen]
        if unknown:
            print(f"unknown variants {unknown}; known: {list(chosen)}", file=sys.stderr)
            return 2
        chosen = {k: chosen[k] for k in wanted}
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(Path(tmp) / "held-out-photos")
        load_scene_config("shapes", overrides=TRANSFER)  # builds the photos library once
        check_held_out(folder)
        sets, made = make_test_sets(args.count, args.size, folder, True)
    rows, table = [], []
    for name, (overrides, augment) in chosen.items():
        t0 = time.time()
        run, summary, gen_s = train_variant(name, overrides, augment, args, work)
        predictor = Predictor.load(run)
        scores = {}
        for set_name, frames in sets.items():
            m = score(predictor.predict, frames, predictor.labels)
            scores[set_name] = m["miou"]
            rows.append(
                _miou_row(
                    f"{name}, {budget_label(args)}: {set_name} mIoU", m, len(frames),
                    variant=name, set=set_name,
                    train_minutes=round(summary["train_minutes"], 3), steps=summary["steps"],
                    budget=budget_label(args),
                )
            )  # fmt: skip
        table.append((name, scores, summary))
        record_variant(args, name, rows[-len(sets) :], made)  # kept even if a later one fails
        print(
            f"{name:<42} " + "  ".join(f"{k} {v:.3f}" for k, v in scores.items())
            + f"  ({summary['steps']} steps, {summary['train_minutes']:.2f} min training, "
            f"{gen_s:.0f} s generating, {time.time() - t0:.0f} s in all)",
            flush=True,
        )  # fmt: skip
    print()
    print("| variant | " + " | ".join(sets) + " | steps |")
    print("|---|" + "---|" * (len(sets) + 1))
    for name, scores, summary in table:
        print(f"| {name} | " + " | ".join(f"{scores[k]:.3f}" for k in sets)
              + f" | {summary['steps']} |")  # fmt: skip
    return 0


def record_variant(args, name: str, rows: list[dict], made: float) -> None:
    """Merge one variant's rows into the `transfer` record (the others are kept)."""
    command = (
        "python bench/bench_crossdomain.py --report "
        + (f"--epochs {args.epochs} " if args.epochs else f"--minutes {args.minutes} ")
        + ("--stream " if args.stream else f"--train-count {args.train_count} ")
        + f"--size {args.size} --count {args.count} --variants '{name}'"
        + (f" --seed {args.seed}" if args.seed else "")
    )
    rows, command = merge_rows("transfer", rows, command, run_of, {(budget_label(args), name)})
    record(
        "transfer",
        rows,
        command,
        notes="Every variant at a budget (each row's `budget`) trains for the same time, on "
        f"{args.train_count} fixed training frames at {args.size} px, seed 0 unless the budget "
        "names another (budgets marked `stream`: frames rendered while training, never one "
        "twice); test sets of "
        f"{args.count} frames each, seeds {HELD_OUT_SEED} and {HELD_OUT_SEED + 1}, made in "
        f"{made:.0f} s. Held-out photos: scikit-image's {', '.join(PHOTOS)}.",
    )


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
    ap.add_argument("--count", type=int, default=48, help="frames per test set")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument(
        "--picture", default="docs/crossdomain.png", help="grid of image | truth | prediction"
    )
    ap.add_argument("--report", action="store_true", help="train every variant and compare")
    ap.add_argument("--minutes", type=float, default=4.75, help="--report: training budget")
    ap.add_argument(
        "--epochs", type=int, default=0, help="--report: budget in epochs instead of minutes"
    )
    ap.add_argument("--train-count", type=int, default=2000, help="--report: training frames")
    ap.add_argument(
        "--stream",
        action="store_true",
        help="--report: train from the renderer (segsim train --stream) instead of a fixed set",
    )
    ap.add_argument(
        "--variants",
        default="",
        help="--report: names to run, separated by , (or ; if a name has one)",
    )
    ap.add_argument("--work", default="bench/out/transfer", help="--report: datasets and runs")
    ap.add_argument(
        "--seed", type=int, default=0, help="--report: seed of the training frames and of training"
    )
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="--report: score a variant's finished run (its summary.json kept) instead of training",
    )
    args = ap.parse_args()
    return report(args) if args.report else score_model(args)


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
