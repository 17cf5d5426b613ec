"""UPerNet (Xiao et al. 2018), its semantic-segmentation part: a pyramid pooling module on the
deepest encoder map heads a feature pyramid; lateral 1x1 convs bring the stride-4/8/16 maps to
the pyramid width, the top-down path adds each coarser level into the next finer one, and all
levels, resized to stride 4 and concatenated, are fused by a 3x3 conv before the classifier.
Bilinear resizing to each map's exact size makes any H x W work."""

from __future__ import annotations

import torch
from torch import nn

from segsim.models.common import ConvBNReLU, upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.pspnet import PyramidPooling, check_bins, check_channels
from segsim.models.registry import register_model


class UPerHead(nn.Module):
    """Takes the encoder maps at strides 4, 8, 16, 32 (shallowest first)."""

    def __init__(self, in_channels, channels: int = 256, bins=(1, 2, 3, 6)):
        super().__init__()
        *shallow, deepest = in_channels
        ppm = PyramidPooling(deepest, bins, branch_channels=channels)
        self.ppm = nn.Sequential(ppm, ConvBNReLU(ppm.out_channels, channels))
        self.lateral = nn.ModuleList(ConvBNReLU(c, channels, kernel=1) for c in shallow)
        self.smooth = nn.ModuleList(ConvBNReLU(channels, channels) for _ in shallow)
        self.fuse = ConvBNReLU(channels * len(in_channels), channels)

    def forward(self, feats):
        top = self.ppm(feats[-1])
        levels = [top]
        for i in range(len(self.lateral) - 1, -1, -1):  # deepest lateral first
            lateral = self.lateral[i](feats[i])
            top = lateral + upsample_to(top, lateral.shape[-2:])
            levels.insert(0, self.smooth[i](top))
        size = levels[0].shape[-2:]
        return self.fuse(torch.cat([upsample_to(f, size) for f in levels], dim=1))


class UPerNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet50",
        encoder_weights=None,
        channels: int = 256,
        bins=(1, 2, 3, 6),
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        self.decoder = UPerHead(self.encoder.out_channels[1:], channels, tuple(bins))
        self.head = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x):
        feats = self.encoder(x)[1:]  # the stride-2 stem map is not part of the pyramid
        return upsample_to(self.head(self.decoder(feats)), x.shape[-2:])


@register_model(
    "upernet", "UPerNet: pyramid pooling on the deepest map + FPN fusion of strides 4-32"
)
def upernet(
    num_classes: int,
    encoder: str = "resnet50",
    encoder_weights=None,
    channels: int = 256,
    bins=(1, 2, 3, 6),
) -> UPerNet:
    """Unified Perceptual Parsing network, semantic head (Xiao et al. 2018).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        channels: width of the pyramid and the fusion conv (the paper's 512; 256 is lighter)
        bins: pooled grid sizes of the pyramid pooling on the deepest map, e.g. [1,2,3,6]
    """
    return UPerNet(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        channels=check_channels("channels", channels),
        bins=check_bins(bins),
    )
