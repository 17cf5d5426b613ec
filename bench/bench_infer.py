"""Predictor ms/frame, PyTorch vs ONNX Runtime, at 256x256 for the default and the real-time model.

What is timed is `Predictor.predict(rgb)` end to end -- normalization, the forward pass, softmax,
resizing back and argmax -- on one 256x256 RGB frame of a model whose input size is 256x256,
i.e. what `segsim predict` and the server pay per image. Models are freshly initialized (speed
does not depend on the weights) and written as checkpoints in the training format, then exported
with `segsim.infer.export.export_onnx`, so both backends load through `Predictor.load` exactly as
users' files do. torch runs on 2 threads (this machine's cores); onnxruntime uses its defaults.

    python bench/bench_infer.py                         # the recorded figures
    python bench/bench_infer.py --repeats 2 --warmup 1 --models unet_small   # a quick check
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row, time_repeats

NUM_CLASSES = 4  # the shapes preset: background, cube, sphere, cylinder
REALTIME_MODEL = "lraspp_mobilenetv3"


def default_models() -> list[str]:
    from segsim.models.registry import DEFAULT_MODEL

    return [DEFAULT_MODEL, REALTIME_MODEL]


def write_checkpoint(path: Path, model_name: str, size: int) -> Path:
    """A checkpoint in the training part's format (weights under `model.`, the "segsim" entry)."""
    import torch

    from segsim.labels import LabelSet
    from segsim.models.checkpoint import make_info
    from segsim.models.registry import create_model

    labels = LabelSet.from_names(["background", "cube", "sphere", "cylinder"][:NUM_CLASSES])
    torch.manual_seed(0)
    model = create_model(model_name, labels.num_classes).eval()
    info = make_info(model_name, {}, labels, (size, size))
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "segsim": info},
        path,
    )
    return path


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--models", nargs="*", help="registry names (default: the default and the real-time model)"
    )
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tta", action="store_true", help="also time --tta flip")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = ap.parse_args()

    import numpy as np
    import torch

    from segsim.infer.export import export_onnx
    from segsim.infer.predictor import Predictor

    torch.set_num_threads(args.threads)
    rgb = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models or default_models():
            ckpt = write_checkpoint(Path(tmp) / f"{name}.ckpt", name, args.size)
            agreement = export_onnx(ckpt, Path(tmp) / f"{name}.onnx")
            for path in (ckpt, Path(tmp) / f"{name}.onnx"):
                pred = Predictor.load(path)
                for tta in [None, "flip"] if args.tta else [None]:
                    secs = time_repeats(
                        lambda p=pred, t=tta: p.predict(rgb, tta=t), args.repeats, args.warmup
                    )
                    what = f"predict {name} {pred.backend} {args.size}x{args.size}" + (
                        " tta=flip" if tta else ""
                    )
                    rows.append(
                        row(
                            what,
                            [1000 * s for s in secs],
                            "ms/frame",
                            model=name,
                            backend=pred.backend,
                            size=args.size,
                            tta=tta,
                            onnx_argmax_agreement_pct=agreement["argmax_agreement_pct"],
                        )
                    )
    command = "python bench/bench_infer.py " + " ".join(sys.argv[1:])
    record(
        "infer",
        rows,
        command.strip(),
        notes=f"Predictor.predict end to end on one {args.size}x{args.size} frame; torch on "
        f"{args.threads} threads, onnxruntime CPUExecutionProvider with default threads.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
