"""Small pieces shared by the decoders: conv-BN-ReLU, and the pad-then-crop wrapper that lets
encoder-decoder nets with skip connections take any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
    ):
        super().__init__(
            nn.Conv2d(
                cin,
                cout,
                kernel,
                stride=stride,
                padding=dilation * (kernel - 1) // 2,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Zero-pad the bottom/right of x so H and W divide by `multiple` (zero = the mean colour
    after ImageNet normalization). Returns the padded tensor and the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    return x, (h, w)


def upsample_to(x: torch.Tensor, size) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def check_weights_spec(spec) -> None:
    """encoder_weights must be None, "imagenet" or a path; anything else is a user mistake."""
    from pathlib import Path

    from segsim.errors import SegsimError

    if spec is not None and not isinstance(spec, (str, Path)):
        raise SegsimError(
            f"encoder_weights must be None, 'imagenet' or a file path, got {spec!r}",
            "use encoder_weights=imagenet or encoder_weights=/path/to/weights.pth",
        )


def check_decoder_channels(value) -> tuple[int, ...]:
    """The 5 decoder widths of a U-Net style model (unet, unetplusplus), deepest first."""
    from segsim.errors import SegsimError

    try:
        out = tuple(value)
    except TypeError:
        out = ()
    if len(out) != 5 or not all(
        isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in out
    ):
        raise SegsimError(
            f"decoder_channels must be 5 positive integers (deepest first), got {value!r}",
            "e.g. decoder_channels=[256,128,64,32,16]",
        )
    return out
