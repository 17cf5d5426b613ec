"""Shared by the inference tests: a network whose answer is known in advance, and checkpoints
of it written in the training part's format.

`colour_probe` is a 1x1 convolution that scores each pixel by its (negated, halved) squared
distance to each class colour in normalized space: logit_c = k * (x . t_c - |t_c|^2 / 2). Its
argmax is therefore the nearest class colour, which a test can compute on its own with numpy.
Being per-pixel, it also makes resizing, flipping and tiling mistakes show up as wrong pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from segsim.labels import LabelSet
from segsim.models.checkpoint import IMAGENET_MEAN, IMAGENET_STD, make_info
from segsim.models.registry import register_model

PROBE = "test_colour_probe"
NAMES = ["background", "red", "green", "blue"]
COLOURS = [(0, 0, 0), (220, 30, 30), (30, 200, 40), (40, 60, 230)]


def probe_labels() -> LabelSet:
    ls = LabelSet.from_names(NAMES)
    # the probe's templates are the label colours, so painting with a label colour gives that class
    from segsim.labels import Label

    return LabelSet([Label(lab.id, lab.name, COLOURS[lab.id], lab.group) for lab in ls.labels])


class ColourProbe(nn.Module):
    def __init__(self, num_classes: int, colours, sharpness: float = 20.0):
        super().__init__()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3)
        std = torch.tensor(IMAGENET_STD).view(1, 3)
        t = (torch.tensor(colours, dtype=torch.float32)[:num_classes] / 255.0 - mean) / std  # C x 3
        self.head = nn.Conv2d(3, num_classes, 1)
        with torch.no_grad():
            self.head.weight.copy_(sharpness * t.view(num_classes, 3, 1, 1))
            self.head.bias.copy_(-sharpness * 0.5 * (t * t).sum(1))

    def forward(self, x):
        return self.head(x)


@register_model(PROBE, "test only: nearest class colour, as a 1x1 conv")
def colour_probe(num_classes: int, colours=None, sharpness: float = 20.0):
    return ColourProbe(num_classes, colours or COLOURS, sharpness)


def write_checkpoint(
    path: Path,
    model_name: str = PROBE,
    labels: LabelSet | None = None,
    input_size=(32, 48),
    kwargs: dict | None = None,
    seed: int = 0,
) -> Path:
    """A checkpoint in the training part's format: Lightning-style dict, weights under `model.`,
    and the "segsim" entry from segsim.models.checkpoint.make_info."""
    from segsim.models.registry import create_model

    labels = labels or probe_labels()
    torch.manual_seed(seed)
    model = create_model(model_name, labels.num_classes, **(kwargs or {}))
    model.eval()
    info = make_info(model_name, kwargs or {}, labels, input_size, config={"note": "test"})
    ckpt = {
        "epoch": 0,
        "global_step": 0,
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "segsim": info,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


def nearest_colour(rgb: np.ndarray) -> np.ndarray:
    """The probe's answer, computed independently: nearest label colour in normalized space."""
    std = np.asarray(IMAGENET_STD)
    x = rgb.astype(np.float64) / 255.0 / std  # the mean cancels in a difference
    t = np.asarray(COLOURS, np.float64) / 255.0 / std
    d = ((x[:, :, None, :] - t[None, None]) ** 2).sum(-1)
    return d.argmin(-1).astype(np.uint8)


def paint(mask: np.ndarray) -> np.ndarray:
    """An image whose pixels have exactly the colour of their class."""
    return np.asarray(COLOURS, np.uint8)[mask]


def block_mask(h: int, w: int, block: int, seed: int = 0) -> np.ndarray:
    """Random classes in block x block squares: edges on a grid, no symmetry to hide flips."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, len(NAMES), ((h + block - 1) // block, (w + block - 1) // block))
    return np.kron(coarse, np.ones((block, block), np.int64))[:h, :w].astype(np.uint8)
