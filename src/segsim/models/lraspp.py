"""LR-ASPP (Lite Reduced ASPP, Howard et al. 2019, "Searching for MobileNetV3") on a
MobileNetV3-Large encoder at output stride 16 (torchvision's taps): the real-time model. Any
other encoder of `create_encoder` works too (its stride-8 map and its last map). The head
gates a 1x1 projection of the last features with a global-pooled sigmoid, upsamples to stride
8 and adds a linear classifier of the stride-8 features; logits are resized bilinearly to the
input, so any H x W works. Weights are kept in channels-last memory format, which runs the
depthwise convolutions faster on CPU; inputs in either format are accepted."""

from __future__ import annotations

import torch
from torch import nn

from segsim.models.common import upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.registry import register_model


class LRASPPHead(nn.Module):
    def __init__(
        self, low_channels: int, high_channels: int, num_classes: int, inter_channels: int = 128
    ):
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, low, high):
        x = upsample_to(self.cbr(high) * self.scale(high), low.shape[-2:])
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder_weights=None,
        inter_channels: int = 128,
        channels_last: bool = True,
        encoder: str = "mobilenetv3_large",
        output_stride: int = 16,
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, output_stride, weights=encoder_weights)
        chans = self.encoder.out_channels
        self.head = LRASPPHead(chans[2], chans[-1], num_classes, inter_channels)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x):
        size = x.shape[-2:]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        feats = self.encoder(x)
        low, high = feats[2], feats[-1]  # stride 8 and the last map
        return upsample_to(self.head(low, high), size).contiguous()


@register_model(
    "lraspp_mobilenetv3",
    "real-time LR-ASPP, MobileNetV3-Large by default (any encoder; encoder_weights=imagenet|PATH)",
)
def lraspp_mobilenetv3(
    num_classes: int,
    encoder: str = "mobilenetv3_large",
    encoder_weights=None,
    output_stride: int = 16,
    channels_last: bool = True,
) -> LRASPP:
    """LR-ASPP.

    Options:
        encoder: backbone: mobilenetv3_large, or any other encoder (resnet18..152, xception65)
        encoder_weights: null, imagenet (torchvision's, downloaded once; not xception65) or a .pth
        output_stride: 16 (torchvision's), 8 (finer, slower) or 32 (coarser, faster)
        channels_last: keep weights channels-last (faster depthwise convs on CPU)
    """
    return LRASPP(
        num_classes,
        encoder_weights=encoder_weights,
        channels_last=bool(channels_last),
        encoder=encoder,
        output_stride=output_stride,
    )
