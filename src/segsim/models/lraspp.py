"""LR-ASPP (Lite Reduced ASPP, Howard et al. 2019, "Searching for MobileNetV3") on a
MobileNetV3-Large encoder: the real-time model. The head gates a 1x1 projection of the
stride-16 features with a global-pooled sigmoid, upsamples to stride 8 and adds a linear
classifier of the stride-8 features; logits are resized bilinearly to the input, so any
H x W works. Weights are kept in channels-last memory format, which runs the depthwise
convolutions faster on CPU; inputs in either format are accepted."""

from __future__ import annotations

import torch
from torch import nn

from segsim.models.common import check_weights_spec, upsample_to
from segsim.models.encoders.mobilenetv3 import MobileNetV3LargeEncoder
from segsim.models.registry import register_model
from segsim.models.weights import load_encoder_weights


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
    ):
        super().__init__()
        check_weights_spec(encoder_weights)
        self.encoder = load_encoder_weights(MobileNetV3LargeEncoder(), encoder_weights)
        self.head = LRASPPHead(
            self.encoder.low_channels, self.encoder.high_channels, num_classes, inter_channels
        )
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x):
        size = x.shape[-2:]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        low, high = self.encoder(x)
        return upsample_to(self.head(low, high), size).contiguous()


@register_model(
    "lraspp_mobilenetv3",
    "real-time LR-ASPP on MobileNetV3-Large (torchvision names; encoder_weights=imagenet|PATH)",
)
def lraspp_mobilenetv3(
    num_classes: int, encoder_weights=None, channels_last: bool = True
) -> LRASPP:
    return LRASPP(num_classes, encoder_weights=encoder_weights, channels_last=bool(channels_last))
