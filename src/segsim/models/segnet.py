"""SegNet (Badrinarayanan et al. 2017): a VGG16-style encoder (five stages of 3x3 conv-BN-ReLU,
2-2-3-3-3 convs, each ending in 2x2 max pooling that remembers where each maximum was) and a
mirrored decoder that puts every value back at its remembered position (max unpooling) before
its own convs. No skip features are stored, only the pooling indices. The input is zero-padded
to a multiple of 32 and the logits cropped back, so any H x W works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import ConvBNReLU, pad_to_multiple
from segsim.models.pspnet import check_channels
from segsim.models.registry import register_model

STAGE_CONVS = (2, 2, 3, 3, 3)  # VGG16's conv layers per stage
STAGE_WIDTHS = (1, 2, 4, 8, 8)  # multiples of the base width


def max_unpool2x(x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """F.max_unpool2d(x, indices, 2) for maps whose pre-pool size was exactly 2x, written as a
    scatter: the legacy ONNX exporter cannot trace max_unpool2d with dynamic shapes."""
    out = torch.zeros_like(x).repeat(1, 1, 2, 2)
    flat = out.flatten(2).scatter(2, indices.flatten(2), x.flatten(2))
    return flat.view_as(out)


class SegNetEncoder(nn.Module):
    """The downsampling half: forward returns the deepest map and each stage's pooling indices."""

    def __init__(self, width: int = 64):
        super().__init__()
        stages, cin = [], 3
        for convs, mult in zip(STAGE_CONVS, STAGE_WIDTHS, strict=True):
            cout = width * mult
            stages.append(
                nn.Sequential(*(ConvBNReLU(cin if i == 0 else cout, cout) for i in range(convs)))
            )
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.out_channels = tuple(width * m for m in STAGE_WIDTHS)
        self.strides = (2, 4, 8, 16, 32)

    def forward(self, x):
        indices = []
        for stage in self.stages:
            x, idx = F.max_pool2d(stage(x), 2, 2, return_indices=True)
            indices.append(idx)
        return x, indices


class SegNetDecoder(nn.Module):
    """Mirror of the encoder: stage k unpools, then runs stage k's convs backwards (the last conv
    of each stage narrows to the width of the stage before it)."""

    def __init__(self, width: int = 64):
        super().__init__()
        widths = [width * m for m in STAGE_WIDTHS]
        stages = []
        for k in range(len(widths) - 1, -1, -1):
            c, cnext = widths[k], widths[max(k - 1, 0)]
            convs = [ConvBNReLU(c, c) for _ in range(STAGE_CONVS[k] - 1)]
            stages.append(nn.Sequential(*convs, ConvBNReLU(c, cnext)))
        self.stages = nn.ModuleList(stages)
        self.out_channels = widths[0]

    def forward(self, x, indices):
        for stage, idx in zip(self.stages, indices[::-1], strict=True):
            x = stage(max_unpool2x(x, idx))
        return x


class SegNet(nn.Module):
    def __init__(self, num_classes: int, width: int = 64):
        super().__init__()
        self.encoder = SegNetEncoder(width)
        self.decoder = SegNetDecoder(width)
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 3, padding=1)

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, 32)
        deepest, indices = self.encoder(x)
        return self.head(self.decoder(deepest, indices))[..., :h, :w]


@register_model(
    "segnet", "SegNet: its own VGG16-style encoder-decoder, max-unpooling with pooling indices"
)
def segnet(num_classes: int, width: int = 64) -> SegNet:
    """SegNet (Badrinarayanan et al. 2017); trained from scratch (no pretrained encoder).

    Options:
        width: channels of the first stage; later stages take 2x, 4x, 8x, 8x (VGG16's 64)
    """
    return SegNet(num_classes, width=check_channels("width", width))
