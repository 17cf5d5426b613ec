"""Aligned Xception-65, the encoder of DeepLabV3+ (Chen et al. 2018, section 3.2 and Fig. 4).

Entry flow: a stride-2 3x3 conv (32) and a 3x3 conv (64), then three blocks (128, 256, 728
channels) that each end in a stride-2 separable conv; middle flow: 16 identity-skip blocks of
728; exit flow: a stride-2 block (728, 1024, 1024) and a block without skip (1536, 1536, 2048).
Every max pool of the original Xception is a strided separable conv, and each 3x3 depthwise conv
is followed by BatchNorm and ReLU (the "aligned" changes). Blocks start with a ReLU, except the
last, which applies it after each separable conv instead, as DeepLab's `xception_65` does.

`forward` returns the deepest features at each stride: the second separable conv of each strided
block (128 @ 2, 256 @ 4 -- DeepLab's low-level features --, 728 @ 8, 1024 @ 16) and the exit
flow's output (2048 @ 32). `output_stride=16` or `8` turns the last strides into dilation the way
DeepLab does (the block that stops striding keeps the current rate, later ones multiply it).

There are no torchvision weights for it; pass a state dict in this module's names to load one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.registry import check_choice


class SeparableConv2d(nn.Module):
    """3x3 depthwise -> BN -> ReLU -> 1x1 pointwise -> BN (-> ReLU when `act`)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1, act=False):
        super().__init__()
        self.conv_dw = nn.Conv2d(
            cin, cin, 3, stride, padding=dilation, dilation=dilation, groups=cin, bias=False
        )
        self.bn_dw = nn.BatchNorm2d(cin)
        self.conv_pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn_pw = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = F.relu(self.bn_dw(self.conv_dw(x)), inplace=True)
        x = self.bn_pw(self.conv_pw(x))
        return F.relu(x, inplace=True) if self.act else x


class XceptionBlock(nn.Module):
    """Three separable convs (the third one strided), plus a 1x1-conv, identity or no skip."""

    def __init__(
        self,
        cin: int,
        outs: tuple[int, int, int],
        stride: int = 1,
        dilation: int = 1,
        skip: str = "conv",
        start_with_relu: bool = True,
    ):
        super().__init__()
        chans = (cin, *outs)
        self.start_with_relu = start_with_relu
        self.convs = nn.ModuleList(
            SeparableConv2d(
                chans[i],
                chans[i + 1],
                stride=stride if i == 2 else 1,
                dilation=dilation,
                act=not start_with_relu,
            )
            for i in range(3)
        )
        self.skip_kind = skip
        if skip == "conv":
            self.skip = nn.Conv2d(cin, outs[-1], 1, stride=stride, bias=False)
            self.skip_bn = nn.BatchNorm2d(outs[-1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x
        tap = x
        for i, conv in enumerate(self.convs):
            if self.start_with_relu:
                y = F.relu(y)  # not in place: x still feeds the skip and the tap is returned
            y = conv(y)
            if i == 1:
                tap = y  # the deepest features before the stride
        if self.skip_kind == "conv":
            y = y + self.skip_bn(self.skip(x))
        elif self.skip_kind == "identity":
            y = y + x
        return y, tap


# (in, outs, stride, skip, start_with_relu); the taps are the strided blocks 0, 1, 2, 19.
BLOCKS = [
    (64, (128, 128, 128), 2, "conv", True),
    (128, (256, 256, 256), 2, "conv", True),
    (256, (728, 728, 728), 2, "conv", True),
    *[(728, (728, 728, 728), 1, "identity", True)] * 16,
    (728, (728, 1024, 1024), 2, "conv", True),
    (1024, (1536, 1536, 2048), 1, "none", False),
]
TAP_BLOCKS = (0, 1, 2, 19)


class Xception65Encoder(nn.Module):
    name = "xception65"

    def __init__(self, output_stride: int = 32):
        super().__init__()
        check_choice("output_stride", output_stride, (8, 16, 32))
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        blocks, stride, rate, strides = [], 2, 1, []
        for cin, outs, block_stride, skip, start_with_relu in BLOCKS:
            block_rate = rate
            if block_stride > 1 and stride * block_stride > output_stride:
                rate *= block_stride  # this block keeps its rate; the ones after it dilate more
                block_stride = 1
            strides.append(stride)  # the stride its tap (before the strided conv) sits at
            blocks.append(XceptionBlock(cin, outs, block_stride, block_rate, skip, start_with_relu))
            stride *= block_stride
        self.blocks = nn.ModuleList(blocks)
        self.output_stride = output_stride
        self.out_channels = (128, 256, 728, 1024, 2048)
        self.strides = (*(strides[i] for i in TAP_BLOCKS), stride)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        out = []
        for i, block in enumerate(self.blocks):
            x, tap = block(x)
            if i in TAP_BLOCKS:
                out.append(tap)
        out.append(x)
        return out
