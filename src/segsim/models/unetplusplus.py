"""UNet++ (Zhou et al. 2018): U-Net whose skip pathways are themselves small decoders. Node
X(i, j) at level i (stride 2^(i+1)) and column j concatenates the encoder map X(i, 0), every
earlier node of its row X(i, 1..j-1) and the upsampled node below it X(i+1, j-1), then applies
two conv-BN-ReLU; the last node of the top row, X(0, 4) at stride 2, is upsampled to full
resolution for the classifier (no deep supervision). The input is zero-padded to a multiple of
the encoder's deepest stride and the logits cropped back, so any H x W works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import ConvBNReLU, check_decoder_channels, pad_to_multiple
from segsim.models.encoders import create_encoder
from segsim.models.registry import register_model


class NestedBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(ConvBNReLU(cin, cout), ConvBNReLU(cout, cout))


def _up(x):
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class UNetPlusPlusDecoder(nn.Module):
    """Decodes [f/2, f/4, f/8, f/16, f/32] (shallowest first). decoder_channels, deepest first,
    are the widths of the nodes at strides 16, 8, 4 and 2, then of the full-resolution block."""

    def __init__(self, encoder_channels, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        enc = list(encoder_channels)
        depth = len(enc) - 1  # levels that get nodes: all but the deepest map
        width = list(decoder_channels[:depth][::-1])  # node width per level, shallowest first
        self.depth = depth
        self.nodes = nn.ModuleDict()
        for j in range(1, depth + 1):
            for i in range(depth - j + 1):
                below = enc[i + 1] if j == 1 else width[i + 1]
                cin = enc[i] + width[i] * (j - 1) + below
                self.nodes[f"x{i}_{j}"] = NestedBlock(cin, width[i])
        self.final = NestedBlock(width[0], decoder_channels[depth])
        self.out_channels = decoder_channels[depth]

    def forward(self, features):
        grid = {(i, 0): f for i, f in enumerate(features)}
        for j in range(1, self.depth + 1):
            for i in range(self.depth - j + 1):
                row = [grid[(i, k)] for k in range(j)]
                grid[(i, j)] = self.nodes[f"x{i}_{j}"](
                    torch.cat([*row, _up(grid[(i + 1, j - 1)])], 1)
                )
        return self.final(_up(grid[(0, self.depth)]))


class UNetPlusPlus(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet34",
        encoder_weights=None,
        decoder_channels=(256, 128, 64, 32, 16),
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        self.decoder = UNetPlusPlusDecoder(self.encoder.out_channels, tuple(decoder_channels))
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 3, padding=1)
        self.multiple = self.encoder.strides[-1]

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, self.multiple)
        return self.head(self.decoder(self.encoder(x)))[..., :h, :w]


@register_model("unetplusplus", "UNet++: U-Net with nested, densely connected skip pathways")
def unetplusplus(
    num_classes: int,
    encoder: str = "resnet34",
    encoder_weights=None,
    decoder_channels=(256, 128, 64, 32, 16),
) -> UNetPlusPlus:
    """UNet++ (Zhou et al. 2018).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        decoder_channels: node widths at strides 16, 8, 4, 2 and of the full-resolution block
    """
    return UNetPlusPlus(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        decoder_channels=check_decoder_channels(decoder_channels),
    )
