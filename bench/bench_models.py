"""Training images/s and inference ms/frame of every registered model on this CPU.

For each model (default options; `unet` also with resnet18) and each size: training is one
forward + backward + AdamW step (fused on CPU, as `segsim train` steps it) on a batch of 8
random images with random 4-class targets (cross-entropy), reported as images/s; inference is
one eval-mode, no_grad forward of a single image, reported as ms/frame (and frames/s). torch
runs on 2 threads, the setting the real-time target (>= 30 frames/s at 256x256 for
lraspp_mobilenetv3) is stated for. Medians with min and max over repeats, because the machine
is shared and noisy.

    python bench/bench_models.py                                    # the recorded figures
    python bench/bench_models.py --repeats 1 --sizes 64 --models unet_small   # a quick check
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row, time_repeats

NUM_CLASSES = 4  # the shapes preset: background, cube, sphere, cylinder


def variants(selected: list[str] | None) -> list[tuple[str, dict]]:
    from segsim.models import list_models

    out = []
    for name in list_models():
        if selected and name not in selected:
            continue
        out.append((name, {}))
        if name == "unet":
            out.append((name, {"encoder": "resnet18"}))
    return out


def label(name: str, kwargs: dict) -> str:
    from segsim.models.registry import model_kwargs

    full = {**model_kwargs(name), **kwargs}
    return f"{name}({full['encoder']})" if "encoder" in full else name


def train_images_per_s(model, size: int, batch: int, repeats: int) -> list[float]:
    import torch

    model.train()
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, NUM_CLASSES, (batch, size, size))
    from segsim.train.module import adamw

    opt = adamw(model.parameters(), 1e-4, "cpu")  # the optimizer `segsim train` steps

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return [batch / t for t in time_repeats(step, repeats=repeats, warmup=1)]


def infer_ms(model, size: int, repeats: int) -> list[float]:
    import torch

    model.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        seconds = time_repeats(lambda: model(x), repeats=repeats, warmup=2)
    return [1000 * t for t in seconds]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument(
        "--repeats", type=int, default=5, help="timed training steps / inference frames per figure"
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="*", help="only these registered names (default: all)")
    args = ap.parse_args()

    import torch

    from segsim.models import create_model

    torch.set_num_threads(args.threads)
    rows = []
    for name, kwargs in variants(args.models):
        torch.manual_seed(0)
        model = create_model(name, NUM_CLASSES, **kwargs)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        what = label(name, kwargs)
        for size in args.sizes:
            ms = infer_ms(model, size, args.repeats * 2)
            rows.append(
                row(
                    f"{what} infer {size}x{size} batch 1",
                    ms,
                    "ms/frame",
                    model=what,
                    size=size,
                    params_m=round(params, 2),
                    threads=args.threads,
                )
            )
            rows.append(
                row(
                    f"{what} infer {size}x{size} batch 1 (frames/s)",
                    [1000 / m for m in ms],
                    "frames/s",
                    model=what,
                    size=size,
                    threads=args.threads,
                )
            )
            ips = train_images_per_s(model, size, args.batch, args.repeats)
            rows.append(
                row(
                    f"{what} train {size}x{size} batch {args.batch}",
                    ips,
                    "images/s",
                    model=what,
                    size=size,
                    params_m=round(params, 2),
                    threads=args.threads,
                )
            )
    command = "python bench/bench_models.py " + " ".join(sys.argv[1:])
    record(
        "models",
        rows,
        command.strip(),
        notes=f"torch {torch.__version__}, {args.threads} threads; "
        "training = forward+backward+fused AdamW step "
        f"on batch {args.batch} of random data; inference = eval + no_grad, batch 1",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
