"""MobileNetV3-Large (Howard et al. 2019) as a segmentation encoder, with torchvision's exact
module tree (`features.0.0.weight`, `features.4.block.2.fc1.weight`, ...) so torchvision's
ImageNet state dict loads as-is (its `classifier.*` head is dropped).

Like torchvision's LR-ASPP backbone, the last stage is dilated (output stride 16) and the
encoder returns (stride-8 features of features.4, stride-16 features of features.16).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
# (in, kernel, expanded, out, SE, activation, stride, dilation) -- torchvision's large config
# with dilated=True (the segmentation variant), reduced_tail=False.
LARGE_SETTING = [
    (16, 3, 16, 16, False, RE, 1, 1),
    (16, 3, 64, 24, False, RE, 2, 1),
    (24, 3, 72, 24, False, RE, 1, 1),
    (24, 5, 72, 40, True, RE, 2, 1),
    (40, 5, 120, 40, True, RE, 1, 1),
    (40, 5, 120, 40, True, RE, 1, 1),
    (40, 3, 240, 80, False, HS, 2, 1),
    (80, 3, 200, 80, False, HS, 1, 1),
    (80, 3, 184, 80, False, HS, 1, 1),
    (80, 3, 184, 80, False, HS, 1, 1),
    (80, 3, 480, 112, True, HS, 1, 1),
    (112, 3, 672, 112, True, HS, 1, 1),
    (112, 5, 672, 160, True, HS, 2, 2),
    (160, 5, 960, 160, True, HS, 1, 2),
    (160, 5, 960, 160, True, HS, 1, 2),
]


class MobileNetV3LargeEncoder(nn.Module):
    name = "mobilenet_v3_large"
    low_index = 4  # last block at stride 8 (torchvision's LR-ASPP "low" tap)

    def __init__(self):
        super().__init__()
        layers = [ConvNormAct(3, 16, 3, stride=2, act=HS)]
        layers += [InvertedResidual(*cfg) for cfg in LARGE_SETTING]
        layers.append(ConvNormAct(160, 960, 1, act=HS))
        self.features = nn.Sequential(*layers)
        self.low_channels = 40
        self.high_channels = 960
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = self.features[: self.low_index + 1](x)
        high = self.features[self.low_index + 1 :](low)
        return low, high
