"""The default model for CPU training: a compact U-Net (few channels, BatchNorm) that learns
the `shapes` preset in minutes on two cores.

Cheap where pixels are many, because on CPU the full-resolution convolutions dominate: the
stem convolves at stride 2, the encoder doubles channels (16-32-64-128-256) at each of 4
downsamplings, the decoder upsamples bilinearly and adds (not concatenates) the skip after a
1x1 projection, and the stride-2 logits are resized bilinearly to the input. Weights and
activations run channels-last, which trains faster on CPU. Input is padded to a multiple of 32
and the logits cropped back, so any H x W works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import ConvBNReLU, pad_to_multiple, upsample_to
from segsim.models.registry import register_model


class Down(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(ConvBNReLU(cin, cout, stride=2), ConvBNReLU(cout, cout))


class Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.reduce = ConvBNReLU(cin, cout, kernel=1)
        self.skip = ConvBNReLU(cskip, cout, kernel=1) if cskip != cout else nn.Identity()
        self.conv = ConvBNReLU(cout, cout)

    def forward(self, x, skip):
        x = F.interpolate(
            self.reduce(x), size=skip.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.conv(x + self.skip(skip))


class UNetSmall(nn.Module):
    def __init__(
        self,
        num_classes: int,
        width: int = 16,
        depth: int = 4,
        stem_stride: int = 2,
        channels_last: bool = True,
    ):
        super().__init__()
        chans = [width * 2**i for i in range(depth + 1)]
        self.stem = nn.Sequential(
            ConvBNReLU(3, chans[0], stride=stem_stride), ConvBNReLU(chans[0], chans[0])
        )
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(depth))
        self.ups = nn.ModuleList(
            Up(chans[i + 1], chans[i], chans[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(chans[0], num_classes, 1)
        self.multiple = stem_stride * 2**depth
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, self.multiple)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        y = feats.pop()
        for up in self.ups:
            y = up(y, feats.pop())
        y = self.head(y)
        y = upsample_to(y, x.shape[-2:])[..., :h, :w]
        return y.contiguous()


@register_model(
    "unet_small",
    "compact U-Net for fast CPU training, the default "
    "(width=16, depth=4, stride-2 stem, channels-last)",
)
def unet_small(
    num_classes: int,
    width: int = 16,
    depth: int = 4,
    stem_stride: int = 2,
    channels_last: bool = True,
) -> UNetSmall:
    """The compact default U-Net.

    Options:
        width: channels of the first stage, doubled at each downsampling (4..128)
        depth: number of downsamplings after the stem (2..6)
        stem_stride: 2 (fast, the default) or 1 (full-resolution features, several times slower)
        channels_last: keep weights and activations channels-last (faster on CPU)
    """
    from segsim.errors import SegsimError

    if not (
        isinstance(width, int) and 4 <= width <= 128 and isinstance(depth, int) and 2 <= depth <= 6
    ):
        raise SegsimError(
            "unet_small needs 4 <= width <= 128 and 2 <= depth <= 6, "
            f"got width={width!r}, depth={depth!r}",
            "use the defaults width=16 depth=4",
        )
    if stem_stride not in (1, 2):
        raise SegsimError(
            f"unet_small stem_stride must be 1 or 2, got {stem_stride!r}",
            "use 2 (fast, the default) or 1 (full-resolution features, several times slower)",
        )
    return UNetSmall(num_classes, width, depth, stem_stride, channels_last)
