"""ONNX export with a built-in parity check.

`export_onnx(ckpt, out)` traces the checkpoint's network with dynamic batch, height and width,
stores the label set, normalization and input size in the ONNX metadata (key "segsim", JSON of
the checkpoint's segsim dict minus the training config), then runs ONNX Runtime and PyTorch on
sample images of several sizes and reports how far apart they are. The file appears at `out`
only once it has been written, checked and compared (temp file + os.replace), so a failed
export never leaves a half-written or untested model behind.

The legacy TorchScript-based exporter (`dynamo=False`) is used because it turns the models'
`F.interpolate(size=x.shape[-2:])` and padding arithmetic into shape ops, which keeps height
and width truly dynamic; the parity check at sizes other than the training size proves it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError
from segsim.fileio import atomic_path
from segsim.infer.predictor import ONNX_METADATA_KEY
from segsim.models.checkpoint import resolve_model_path

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
# Keys of load_checkpoint's info that do not belong in the ONNX file: the training config
# (large, and not needed to run) and the loader's own non-JSON conveniences.
_NOT_IN_METADATA = ("config", "label_set", "epoch", "global_step")
MIN_ARGMAX_AGREEMENT = 99.9  # percent of pixels; below this the export is reported as failed
# Float32 kernels differ by ~1e-6 relative; a graph that silently lost a dynamic-shape branch
# (padding traced as a constant) differs by ~1e-2 while argmax may still agree, so the logits
# themselves are held to a tolerance relative to their scale.
LOGIT_RTOL = 1e-3


def onnx_metadata(info: dict) -> dict:
    """The checkpoint's segsim dict minus the training config, as stored in the ONNX file."""
    return {k: v for k, v in info.items() if k not in _NOT_IN_METADATA}


def sample_sizes(input_size: tuple[int, int]) -> list[tuple[int, int, int]]:
    """(batch, height, width) of the parity inputs: the training size as a batch of 2, plus an
    odd-sized smaller and a larger non-square input, to prove height and width are dynamic."""
    h, w = input_size
    return [
        (2, h, w),
        (1, max(33, h // 2 + 7), max(33, w + w // 4 + 3)),
        (1, h + h // 2 + 1, max(33, w // 2 + 1)),
    ]


def sample_images(batch: int, height: int, width: int, seed: int) -> np.ndarray:
    """Smooth random colour fields with a little pixel noise, B x H x W x 3 uint8: images with
    regions and edges, like the real inputs, rather than white noise."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batch):
        coarse = rng.uniform(0, 255, (6, 6, 3)).astype(np.float32)
        field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        field += rng.normal(0, 8, field.shape).astype(np.float32)
        out.append(np.clip(field, 0, 255).astype(np.uint8))
    return np.stack(out)


def _normalize(images: np.ndarray, normalization: dict) -> np.ndarray:
    mean = np.asarray(normalization["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(normalization["std"], np.float32).reshape(1, 3, 1, 1)
    return ((images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - mean) / std).astype(
        np.float32
    )


def compare_backends(model, session, info: dict, seed: int = 0) -> dict:
    """Run PyTorch and ONNX Runtime on the sample inputs; per size and overall figures."""
    import torch

    rows = []
    agree = total = 0
    worst = scale = 0.0
    for k, (b, h, w) in enumerate(sample_sizes(tuple(info["input_size"]))):
        x = _normalize(sample_images(b, h, w, seed + k), info["normalization"])
        with torch.inference_mode():
            ref = model(torch.from_numpy(x)).float().numpy()
        got = session.run(None, {INPUT_NAME: x})[0]
        if got.shape != ref.shape:
            raise SegsimError(
                f"ONNX output shape {got.shape} differs from PyTorch's {ref.shape} for input "
                f"{x.shape}: the exported graph is not dynamic in height/width",
                "check the model for Python ints taken from tensor shapes",
            )
        diff = float(np.abs(got - ref).max())
        same = int((got.argmax(1) == ref.argmax(1)).sum())
        n = ref.shape[0] * ref.shape[2] * ref.shape[3]
        rows.append(
            {
                "input_shape": list(x.shape),
                "max_abs_logit_diff": diff,
                "argmax_agreement_pct": 100.0 * same / n,
            }
        )
        agree, total, worst = agree + same, total + n, max(worst, diff)
        scale = max(scale, float(np.abs(ref).max()))
    pct = 100.0 * agree / total
    ok = (
        pct >= MIN_ARGMAX_AGREEMENT
        and bool(np.isfinite(worst))
        and worst <= LOGIT_RTOL * max(1.0, scale)
    )
    return {
        "max_abs_logit_diff": worst,
        "max_abs_logit": scale,
        "argmax_agreement_pct": pct,
        "pixels": total,
        "samples": rows,
        "ok": bool(ok),
    }


def export_onnx(ckpt: str | Path, out: str | Path, opset: int = 17, check: bool = True) -> dict:
    """Export a checkpoint (or run folder) to ONNX at `out`; returns the agreement figures:
    `{"path", "opset", "max_abs_logit_diff", "argmax_agreement_pct", "samples", "ok", ...}`."""
    import onnx
    import onnxruntime as ort
    import torch

    from segsim.models.checkpoint import load_checkpoint

    src = resolve_model_path(ckpt)
    if src.suffix.lower() == ".onnx":
        raise SegsimError(
            f"{src} is already an ONNX model", "pass the .ckpt (or run folder) it came from"
        )
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise SegsimError(f"out {out} should end in .onnx", "e.g. out=model.onnx", param="out")
    if out.is_dir():
        raise SegsimError(
            f"out {out} is a folder", "pass a file name such as model.onnx", param="out"
        )
    if not 11 <= opset <= 21:
        raise SegsimError(f"opset {opset} is outside 11..21", "use the default, 17")
    model, info = load_checkpoint(src)
    model.eval()
    metadata = onnx_metadata(info)
    h, w = info["input_size"]
    # Trace at an odd size: models branch in Python on "does this need padding / resizing?",
    # and the tracer records only the branch taken. At an odd size the general branch (pad,
    # interpolate) is the one recorded, and it is also right for sizes needing no padding.
    dummy = torch.from_numpy(
        _normalize(sample_images(1, h | 1, w | 1, seed=123), info["normalization"])
    )

    with atomic_path(out, suffix=".tmp.onnx") as tmp:
        dims = {0: "batch", 2: "height", 3: "width"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes
            torch.onnx.export(
                model,
                (dummy,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: dims, OUTPUT_NAME: dims},
                do_constant_folding=True,
            )
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        entry = proto.metadata_props.add()
        entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(metadata)
        proto.doc_string = f"segsim model {metadata['model']['name']} exported from {src.name}"
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        result: dict = {
            "path": str(out),
            "source": str(src),
            "opset": opset,
            "bytes": tmp.stat().st_size,
        }
        if check:
            session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
            result.update(compare_backends(model, session, info))
    return result
