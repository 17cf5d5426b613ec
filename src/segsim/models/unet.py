"""U-Net on any encoder of `create_encoder` (Ronneberger et al. 2015; the decoder follows
segmentation_models.pytorch): each decoder stage upsamples x2, concatenates the encoder skip at
that scale and applies two conv-BN-ReLU. The input is zero-padded to a multiple of 32 and the
logits cropped back, so any H x W works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import ConvBNReLU, check_decoder_channels, pad_to_multiple
from segsim.models.encoders import create_encoder
from segsim.models.registry import register_model


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv1 = ConvBNReLU(cin + cskip, cout)
        self.conv2 = ConvBNReLU(cout, cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UNetDecoder(nn.Module):
    """Decodes [f/2, f/4, f/8, f/16, f/32] (shallowest first) back to full resolution."""

    def __init__(self, encoder_channels, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        deep_first = list(encoder_channels[::-1])
        cins = [deep_first[0]] + list(decoder_channels[:-1])
        cskips = deep_first[1:] + [0]  # the last stage (full resolution) has no skip
        self.blocks = nn.ModuleList(
            DecoderBlock(i, s, o) for i, s, o in zip(cins, cskips, decoder_channels, strict=True)
        )
        self.out_channels = decoder_channels[-1]

    def forward(self, features):
        deep_first = features[::-1]
        x = deep_first[0]
        skips = deep_first[1:] + [None]
        for block, skip in zip(self.blocks, skips, strict=True):
            x = block(x, skip)
        return x


class UNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet34",
        encoder_weights=None,
        decoder_channels=(256, 128, 64, 32, 16),
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, 32, weights=encoder_weights)
        self.decoder = UNetDecoder(self.encoder.out_channels, tuple(decoder_channels))
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 3, padding=1)

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, 32)
        logits = self.head(self.decoder(self.encoder(x)))
        return logits[..., :h, :w]


@register_model(
    "unet",
    "U-Net on any encoder (ResNet-18..152, MobileNetV3-Large, Xception-65), concatenated skips",
)
def unet(
    num_classes: int,
    encoder: str = "resnet34",
    encoder_weights=None,
    decoder_channels=(256, 128, 64, 32, 16),
) -> UNet:
    """U-Net.

    Options:
        encoder: backbone: resnet18/34/50/101/152, mobilenetv3_large or xception65
        encoder_weights: null, imagenet (torchvision's, downloaded once; not xception65) or a .pth
        decoder_channels: channels of the 5 decoder stages, deepest first
    """
    return UNet(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        decoder_channels=check_decoder_channels(decoder_channels),
    )
