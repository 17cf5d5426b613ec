"""ResNet-18/34/50/101/152 feature encoders with torchvision's exact parameter and buffer names.

`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0` ... match torchvision.models.ResNet
one for one (only `fc` is dropped), so a torchvision state dict -- in particular its ImageNet
weights -- loads with `load_state_dict` as-is. torchvision itself is not a dependency.

`forward` returns the feature pyramid [stride 2, 4, 8, 16, 32] that U-Net style decoders need;
`output_stride=16` trades layer4's stride for dilation, `8` layer3's and layer4's, as DeepLab does
(torchvision's `replace_stride_with_dilation`; the parameters do not change).
"""

from __future__ import annotations

import torch
from torch import nn

from segsim.models.registry import check_choice


def conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride=1, downsample=None, dilation=1):
        super().__init__()
        self.conv1 = conv3x3(cin, width, stride, dilation)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, 1, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5: the stride sits on the 3x3 conv, not the first 1x1."""

    expansion = 4

    def __init__(self, cin, width, stride=1, downsample=None, dilation=1):
        super().__init__()
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


RESNET_SPECS = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
    "resnet152": (Bottleneck, (3, 8, 36, 3)),
}


class ResNetEncoder(nn.Module):
    def __init__(
        self, name: str = "resnet18", dilate_last: bool = False, output_stride: int | None = None
    ):
        super().__init__()
        check_choice("encoder", name, tuple(RESNET_SPECS))
        if output_stride is None:
            output_stride = 16 if dilate_last else 32
        check_choice("output_stride", output_stride, (8, 16, 32))
        block, layers = RESNET_SPECS[name]
        self.name = name
        self.inplanes = 64
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=output_stride == 8)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=output_stride < 32)
        e = block.expansion
        # Channels of each returned feature map, shallowest first.
        self.out_channels = (64, 64 * e, 128 * e, 256 * e, 512 * e)
        self.output_stride = output_stride
        self.strides = tuple(min(s, output_stride) for s in (2, 4, 8, 16, 32))
        self._init_weights()

    def _make_layer(self, block, width, blocks, stride=1, dilate=False):
        # Same bookkeeping as torchvision so the module tree (and therefore the names) match.
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != width * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, width * block.expansion, stride),
                nn.BatchNorm2d(width * block.expansion),
            )
        layers = [block(self.inplanes, width, stride, downsample, previous_dilation)]
        self.inplanes = width * block.expansion
        layers += [block(self.inplanes, width, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        stem = self.relu(self.bn1(self.conv1(x)))
        c1 = self.layer1(self.maxpool(stem))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return [stem, c1, c2, c3, c4]
