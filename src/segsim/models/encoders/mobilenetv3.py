"""MobileNetV3-Large (Howard et al. 2019) as a segmentation encoder, with torchvision's exact
module tree (`features.0.0.weight`, `features.4.block.2.fc1.weight`, ...) so torchvision's
ImageNet state dict loads as-is (its `classifier.*` head is dropped).

`forward` returns the encoder contract's 5 maps at strides 2, 4, 8, 16, 32, tapped where
torchvision's segmentation models tap it: the output of the first block at each new stride
(`features.0, 2, 4, 7`) and the last conv (`features.16`), so LR-ASPP on maps 2 and 4 is
torchvision's LR-ASPP. `output_stride=16` dilates the last stage instead of striding it (as
torchvision's `dilated=True`), `8` the last two; the parameters do not change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.registry import check_choice


def make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=0.001, momentum=0.01)  # torchvision's MobileNetV3 settings


class ConvNormAct(nn.Sequential):
    """torchvision's Conv2dNormActivation: children 0 (conv), 1 (bn), 2 (activation, optional)."""

    def __init__(self, cin, cout, kernel=1, stride=1, dilation=1, groups=1, act=None):
        layers = [
            nn.Conv2d(
                cin,
                cout,
                kernel,
                stride,
                (kernel - 1) // 2 * dilation,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            _bn(cout),
        ]
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s), inplace=True)), inplace=True)
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, cin, kernel, expanded, cout, use_se, act, stride, dilation):
        super().__init__()
        stride = 1 if dilation > 1 else stride  # dilated stages keep their resolution
        self.use_res_connect = stride == 1 and cin == cout
        self.is_strided = stride > 1
        layers = []
        if expanded != cin:
            layers.append(ConvNormAct(cin, expanded, 1, act=act))
        layers.append(
            ConvNormAct(expanded, expanded, kernel, stride, dilation, groups=expanded, act=act)
        )
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4, 8)))
        layers.append(ConvNormAct(expanded, cout, 1))
        self.block = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res_connect else y


RE, HS = nn.ReLU, nn.Hardswish
# (in, kernel, expanded, out, SE, activation, stride) -- torchvision's large config,
# reduced_tail=False; the dilation of each block follows from the output stride asked for.
LARGE_SETTING = [
    (16, 3, 16, 16, False, RE, 1),
    (16, 3, 64, 24, False, RE, 2),
    (24, 3, 72, 24, False, RE, 1),
    (24, 5, 72, 40, True, RE, 2),
    (40, 5, 120, 40, True, RE, 1),
    (40, 5, 120, 40, True, RE, 1),
    (40, 3, 240, 80, False, HS, 2),
    (80, 3, 200, 80, False, HS, 1),
    (80, 3, 184, 80, False, HS, 1),
    (80, 3, 184, 80, False, HS, 1),
    (80, 3, 480, 112, True, HS, 1),
    (112, 3, 672, 112, True, HS, 1),
    (112, 5, 672, 160, True, HS, 2),
    (160, 5, 960, 160, True, HS, 1),
    (160, 5, 960, 160, True, HS, 1),
]


# Blocks whose output is returned: first block at strides 2, 4, 8, 16 and the last conv.
TAPS = (0, 2, 4, 7, 16)


class MobileNetV3LargeEncoder(nn.Module):
    name = "mobilenet_v3_large"  # torchvision's architecture name (its ImageNet file)

    def __init__(self, output_stride: int = 32):
        super().__init__()
        check_choice("output_stride", output_stride, (8, 16, 32))
        layers = [ConvNormAct(3, 16, 3, stride=2, act=HS)]
        stride, dilation, strides = 2, 1, [2]
        for cin, kernel, expanded, cout, use_se, act, block_stride in LARGE_SETTING:
            if block_stride > 1 and stride * block_stride > output_stride:
                # torchvision's dilated blocks already use the new dilation where they stop striding
                dilation *= block_stride
            else:
                stride *= block_stride
            layers.append(
                InvertedResidual(cin, kernel, expanded, cout, use_se, act, block_stride, dilation)
            )
            strides.append(stride)
        layers.append(ConvNormAct(160, 960, 1, act=HS))
        strides.append(stride)
        self.features = nn.Sequential(*layers)
        self.output_stride = output_stride
        self.out_channels = (16, 24, 40, 80, 960)
        self.strides = tuple(strides[i] for i in TAPS)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                out.append(x)
        return out
