"""Predictor: one front door for inference with a PyTorch checkpoint or an exported ONNX file.

    p = Predictor.load("runs/shapes")          # a run folder (its best.ckpt), a .ckpt or a .onnx
    mask = p.predict(rgb)                      # HxW uint8 class ids at the input's size
    mask = p.predict(rgb, tta="flip", scales=[0.75, 1, 1.25])
    mask = p.predict(big_rgb, mode="sliding")  # tiles at the training size, overlapping
    probs = p.predict_proba(rgb)               # C x H x W float32, sums to 1 per pixel

Modes:
- "whole" stretches the image to the model's training input size (H, W), runs it once and
  resizes the probabilities back. Stretching (rather than letterboxing) keeps every image the
  same shape, so a batch of images of any sizes is one forward pass, and objects appear at the
  scale the network was trained on; the cost is mild distortion for images whose aspect ratio
  differs from the training frames. Scales multiply the training size.
- "sliding" keeps the image's own resolution (times each scale) and covers it with
  overlapping windows of the training size, averaging softmax where windows overlap. Use it for
  images much larger than the training frames, where stretching would lose small objects.

Both backends share the pre/post-processing (numpy), so torch and ONNX Runtime differ only in
the forward pass. Thread-safety: `predict` keeps no state between calls; a torch model in eval
mode under inference_mode and an onnxruntime session may both be called from many threads at
once, so the HTTP server can share one Predictor across its thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from segsim.errors import SegsimError
from segsim.imaging import resize_image, resize_probs
from segsim.infer import tta as views
from segsim.infer.images import as_rgb_array
from segsim.labels import LabelSet
from segsim.models.checkpoint import resolve_model_path

ONNX_METADATA_KEY = "segsim"
MAX_BATCH = 8  # images per forward pass; bounds memory for large batches of large inputs


class Predictor:
    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        info: dict,
        backend: str,
        source: Path | None = None,
        model=None,
    ):
        self._run = run
        self.info = info  # the checkpoint's "segsim" dict (minus config for ONNX)
        self.backend = backend
        self.source = source
        self.model = model  # the torch module for backend "torch", else None
        self.name = (info.get("model") or {}).get("name") if isinstance(info, dict) else None
        try:
            self.labels = LabelSet.from_dict(info["labels"])
            self.input_size = (int(info["input_size"][0]), int(info["input_size"][1]))
            norm = info["normalization"]
            self.normalization = {
                "mean": [float(v) for v in norm["mean"]],
                "std": [float(v) for v in norm["std"]],
            }
        except (KeyError, TypeError, ValueError, IndexError) as e:
            where = source or "model"
            raise SegsimError(
                f"{where} lacks segsim metadata ({e!r})",
                "use a checkpoint written by `segsim train` or an .onnx from `segsim export`",
            ) from e
        # uint8 -> normalized float in one multiply-add: (x / 255 - mean) / std
        mean = np.asarray(self.normalization["mean"], np.float32)
        std = np.asarray(self.normalization["std"], np.float32)
        self._scale = (1.0 / (255.0 * std)).reshape(3, 1, 1).astype(np.float32)
        self._shift = (-mean / std).reshape(3, 1, 1).astype(np.float32)

    # --- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        p = resolve_model_path(path)
        if p.suffix.lower() == ".onnx":
            return cls._load_onnx(p)
        return cls._load_torch(p)

    @classmethod
    def from_module(cls, model, info: dict) -> Predictor:
        """Wrap an in-memory torch module (eval mode) and its segsim info dict."""
        import torch

        model.eval()

        def run(batch: np.ndarray) -> np.ndarray:
            # inference_mode is thread-local, so entering it per call is what makes concurrent
            # calls from a thread pool safe
            with torch.inference_mode():
                out = model(torch.from_numpy(batch))
            return out.float().cpu().numpy()

        return cls(run, info, "torch", model=model)

    @classmethod
    def _load_torch(cls, path: Path) -> Predictor:
        from segsim.models.checkpoint import load_checkpoint

        model, info = load_checkpoint(path)
        pred = cls.from_module(model, info)
        pred.source = path
        return pred

    @classmethod
    def _load_onnx(cls, path: Path) -> Predictor:
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise SegsimError(
                f"{path} is not a valid ONNX model: {str(e).splitlines()[0]}",
                "re-export it with `segsim export`",
            ) from e
        meta = session.get_modelmeta().custom_metadata_map
        if ONNX_METADATA_KEY not in meta:
            raise SegsimError(
                f"{path} has no segsim metadata (label set, normalization)",
                "export the model with `segsim export --model CKPT --out model.onnx`",
            )
        try:
            info = json.loads(meta[ONNX_METADATA_KEY])
        except json.JSONDecodeError as e:
            raise SegsimError(
                f"{path} has malformed segsim metadata: {e}", "re-export it with `segsim export`"
            ) from e
        input_name = session.get_inputs()[0].name

        def run(batch: np.ndarray) -> np.ndarray:
            return session.run(None, {input_name: batch})[0]

        pred = cls(run, info, "onnx", source=path)
        pred.session = session
        return pred

    # --- inference --------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.labels.num_classes

    def normalize(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 -> 3xHxW float32 normalized like the training data."""
        chw = rgb.transpose(2, 0, 1).astype(np.float32)
        return chw * self._scale + self._shift

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """The raw forward pass: normalized B x 3 x H x W float32 -> B x C x H x W logits."""
        out = self._run(np.ascontiguousarray(batch, dtype=np.float32))
        if out.ndim != 4 or out.shape[0] != batch.shape[0] or out.shape[1] != self.num_classes:
            raise SegsimError(
                f"the model returned logits of shape {tuple(out.shape)} for a batch of "
                f"{tuple(batch.shape)}, expected {self.num_classes} classes",
                "the checkpoint's label set does not match its network; retrain or re-export",
            )
        return out

    def predict_proba_batch(
        self,
        images: list[np.ndarray],
        tta: str | None = None,
        scales: list[float] | None = None,
        mode: str = "whole",
    ) -> list[np.ndarray]:
        """Per image, C x H x W float32 probabilities at that image's own size."""
        scales = views.check_options(tta, scales, mode)
        rgbs = [as_rgb_array(im, f"image {i}") for i, im in enumerate(images)]
        flip = tta == "flip"
        totals = [np.zeros((self.num_classes, *im.shape[:2]), np.float32) for im in rgbs]
        for s in scales:
            if mode == "whole":
                size = views.scaled_size(self.input_size, s)
                for start in range(0, len(rgbs), MAX_BATCH):
                    chunk = rgbs[start : start + MAX_BATCH]
                    batch = np.stack([self.normalize(resize_image(im, size)) for im in chunk])
                    probs = views.probs_of_views(self.logits, batch, flip)
                    for j, (im, p) in enumerate(zip(chunk, probs, strict=True)):
                        totals[start + j] += resize_probs(p, im.shape[:2])
            else:
                for j, im in enumerate(rgbs):
                    scaled = resize_image(im, views.scaled_size(im.shape[:2], s)) if s != 1 else im
                    p = views.sliding_probs(
                        self.logits,
                        self.normalize(scaled),
                        self.input_size,
                        flip,
                        max_batch=MAX_BATCH,
                    )
                    totals[j] += resize_probs(p, im.shape[:2])
        return [t / len(scales) for t in totals]

    def predict_batch(
        self,
        images: list[np.ndarray],
        tta: str | None = None,
        scales: list[float] | None = None,
        mode: str = "whole",
    ) -> list[np.ndarray]:
        probs = self.predict_proba_batch(images, tta=tta, scales=scales, mode=mode)
        return [p.argmax(axis=0).astype(np.uint8) for p in probs]

    def predict_proba(
        self,
        rgb: np.ndarray,
        tta: str | None = None,
        scales: list[float] | None = None,
        mode: str = "whole",
    ) -> np.ndarray:
        return self.predict_proba_batch([rgb], tta=tta, scales=scales, mode=mode)[0]

    def predict(
        self,
        rgb: np.ndarray,
        tta: str | None = None,
        scales: list[float] | None = None,
        mode: str = "whole",
    ) -> np.ndarray:
        """HxWx3 uint8 RGB -> HxW uint8 class ids at the input's size."""
        return self.predict_batch([rgb], tta=tta, scales=scales, mode=mode)[0]

    def describe(self) -> dict:
        """What a client needs to know: labels with colours and groups, input size, backend."""
        return {
            "backend": self.backend,
            "input_size": list(self.input_size),
            "normalization": self.normalization,
            "labels": self.labels.to_dict(),
            "model": self.info.get("model"),
            "source": str(self.source) if self.source else None,
        }
