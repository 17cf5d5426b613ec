"""Size, cost and speed of every registered model on this CPU: one table.

For each model (default options, or `name:key=value,...` variants) and each input size W x H:
- parameters (millions);
- GFLOPs of one forward pass at batch 1, counted by torch.utils.flop_counter.FlopCounterMode
  (convolutions and matrix products, 1 multiply-add = 2 FLOPs; elementwise ops not counted);
- training images/s: forward + backward + fused AdamW step (as `segsim train` steps it) on a
  batch of random images with random 4-class targets (cross-entropy);
- inference ms/frame, batch 1, with torch (eval, inference_mode) and with ONNX Runtime on the
  model exported the way `segsim export` does it (legacy exporter, dynamic batch/height/width,
  traced at an odd size), plus the largest logit difference between the two as a sanity check.
torch and ONNX Runtime run on `--threads` threads (2: the machine the figures are stated for).
Medians with min and max over repeats, because the machine is shared and noisy.

    python bench/bench_models.py                                       # the full table
    python bench/bench_models.py --models unet_small lraspp_mobilenetv3 --repeats 2
    python bench/bench_models.py --models deeplabv3plus:encoder=xception65 --sizes 256x256
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row, summary, time_repeats

NUM_CLASSES = 4  # the shapes preset: background, cube, sphere, cylinder


def parse_variant(text: str) -> tuple[str, dict]:
    """`name` or `name:key=value,key=value` (values parsed as YAML: ints, lists, null...)."""
    import yaml

    name, _, rest = text.partition(":")
    kwargs = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        kwargs[key] = yaml.safe_load(value)
    return name, kwargs


def parse_size(text: str) -> tuple[int, int]:
    """`WxH` -> (height, width); a bare `N` is N x N."""
    w, _, h = text.lower().partition("x")
    return (int(h or w), int(w))


def label(name: str, kwargs: dict) -> str:
    from segsim.models.registry import model_kwargs

    full = {**model_kwargs(name), **kwargs}
    extra = [f"{k}={v}" for k, v in kwargs.items() if k != "encoder"]
    enc = f"({full['encoder']})" if "encoder" in full else ""
    return name + enc + (f" [{', '.join(extra)}]" if extra else "")


def gflops(model, hw: tuple[int, int]) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    x = torch.randn(1, 3, *hw)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 1e9


def train_images_per_s(model, hw, batch: int, repeats: int) -> list[float]:
    import torch

    from segsim.train.module import adamw

    model.train()
    x = torch.randn(batch, 3, *hw)
    y = torch.randint(0, NUM_CLASSES, (batch, *hw))
    opt = adamw(model.parameters(), 1e-4, "cpu")  # the optimizer `segsim train` steps

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return [batch / t for t in time_repeats(step, repeats=repeats, warmup=1)]


def torch_ms(model, hw, repeats: int) -> list[float]:
    import torch

    model.eval()
    x = torch.randn(1, 3, *hw)
    with torch.inference_mode():
        seconds = time_repeats(lambda: model(x), repeats=repeats, warmup=2)
    return [1000 * t for t in seconds]


def export(model, path: Path, hw) -> None:
    """As segsim.infer.export does: legacy exporter, dynamic axes, traced at an odd size so the
    general pad/resize branches are the ones recorded."""
    import warnings

    import torch

    model.eval()
    dummy = torch.randn(1, 3, hw[0] | 1, hw[1] | 1)
    dims = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": dims, "logits": dims},
            do_constant_folding=True,
        )


def onnx_ms(model, session, hw, repeats: int) -> tuple[list[float], float]:
    """ms/frame of the session and its largest logit difference from torch at this size."""
    import numpy as np
    import torch

    x = torch.randn(1, 3, *hw)
    with torch.inference_mode():
        ref = model.eval()(x).float().numpy()
    feed = {"input": x.numpy()}
    got = session.run(None, feed)[0]
    diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    seconds = time_repeats(lambda: session.run(None, feed), repeats=repeats, warmup=2)
    return [1000 * t for t in seconds], diff


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", nargs="+", default=["256x256", "512x256"], help="W x H")
    ap.add_argument("--repeats", type=int, default=5, help="timed steps / frames per figure")
    ap.add_argument("--batch", type=int, default=4, help="training batch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--models", nargs="*", help="registered names or name:key=value,... (default: all)"
    )
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime figures")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch

    from segsim.models import create_model, list_models

    torch.set_num_threads(args.threads)
    variants = [parse_variant(m) for m in args.models] if args.models else []
    variants = variants or [(name, {}) for name in list_models()]
    sizes = [parse_size(s) for s in args.sizes]
    rows, table = [], []
    for name, kwargs in variants:
        torch.manual_seed(0)
        model = create_model(name, NUM_CLASSES, **kwargs)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        what = label(name, kwargs)
        session, export_error = None, None
        if not args.no_onnx:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.onnx"
                try:
                    export(model, path, sizes[0])
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = args.threads
                    opts.inter_op_num_threads = 1
                    session = ort.InferenceSession(
                        str(path), opts, providers=["CPUExecutionProvider"]
                    )
                except Exception as e:  # an architecture the exporter cannot take: say so
                    export_error = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        # every inference figure first: the training steps change the weights the ONNX file has
        measured = {}
        for hw in sizes:
            t0 = time.perf_counter()
            ort_ms, diff = (None, None)
            if session is not None:
                ort_ms, diff = onnx_ms(model, session, hw, args.repeats * 2)
            measured[hw] = [gflops(model, hw), torch_ms(model, hw, args.repeats * 2), ort_ms, diff]
            measured[hw].append(time.perf_counter() - t0)
        for hw in sizes:
            t0 = time.perf_counter()
            flops, ms, ort_ms, diff, seconds = measured[hw]
            ips = train_images_per_s(model, hw, args.batch, args.repeats)
            size = f"{hw[1]}x{hw[0]}"
            extra = {"model": what, "size": size, "threads": args.threads}
            rows.append(row(f"{what} {size} params", [params], "M", **extra))
            rows.append(row(f"{what} {size} forward", [flops], "GFLOPs", **extra))
            rows.append(row(f"{what} {size} train batch {args.batch}", ips, "images/s", **extra))
            rows.append(row(f"{what} {size} infer torch", ms, "ms/frame", **extra))
            if ort_ms is not None:
                rows.append(
                    row(
                        f"{what} {size} infer onnxruntime",
                        ort_ms,
                        "ms/frame",
                        max_abs_logit_diff=diff,
                        **extra,
                    )
                )
            check = f"export failed: {export_error}" if export_error else "n/a"
            if diff is not None:
                check = f"{diff:.1e}"
            table.append(
                f"| {what} | {size} | {params:.2f} | {flops:.2f} "
                f"| {fmt(summary(ips)['median'], 2)} | {fmt(summary(ms)['median'])} "
                f"| {fmt(summary(ort_ms)['median'] if ort_ms else None)} "
                f"| {check} |"
            )
            seconds += time.perf_counter() - t0
            print(f"{what} {size}: {seconds:.0f} s", file=sys.stderr, flush=True)
    header = [
        "| model | W x H | params (M) | GFLOPs | train images/s | torch ms/frame "
        "| ONNX Runtime ms/frame | max abs logit diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes = (
        f"torch {torch.__version__}, onnxruntime {ort.__version__}, {args.threads} threads. "
        f"GFLOPs: FlopCounterMode, one forward at batch 1 (convolutions and matmuls; 2 FLOPs per "
        f"multiply-add). Training: forward + backward + fused AdamW on batch {args.batch} of "
        "random data. Inference: batch 1, eval; ONNX Runtime on the exported model "
        "(dynamic H/W). Medians below; min and max in the rows after.\n\n"
        + "\n".join(header + table)
    )
    command = "python bench/bench_models.py " + " ".join(sys.argv[1:])
    record("models", rows, command.strip(), notes=notes)
    print("\n".join(header + table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
