"""DeepLabV3+ (Chen et al. 2018): any encoder (`create_encoder`) at output stride 16 or 8 (the
last strides dilated instead), atrous spatial pyramid pooling over its last features, and a
decoder that joins the ASPP output with the stride-4 low-level features before the final
upsampling. Bilinear resizing to the skip's and the input's exact size makes any H x W work.
The paper's encoder is `xception65`; ResNet-50 stays the default for its ImageNet weights."""

from __future__ import annotations

import torch
from torch import nn

from segsim.models.common import ConvBNReLU, upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.registry import check_choice, register_model


class ASPPPooling(nn.Module):
    """Image-level features. No BatchNorm here: a 1x1 map would break training at batch size 1."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.relu(self.conv(x.mean(dim=(2, 3), keepdim=True)))
        return y.expand(-1, -1, *x.shape[-2:])


class ASPP(nn.Module):
    def __init__(self, cin: int, cout: int = 256, rates=(6, 12, 18), dropout: float = 0.1):
        super().__init__()
        branches = [ConvBNReLU(cin, cout, kernel=1)]
        branches += [ConvBNReLU(cin, cout, dilation=r) for r in rates]
        branches.append(ASPPPooling(cin, cout))
        self.branches = nn.ModuleList(branches)
        self.project = nn.Sequential(
            ConvBNReLU(cout * len(branches), cout, kernel=1), nn.Dropout(dropout)
        )

    def forward(self, x):
        return self.project(torch.cat([b(x) for b in self.branches], dim=1))


class DeepLabV3Plus(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet50",
        encoder_weights=None,
        aspp_channels: int = 256,
        atrous_rates=(6, 12, 18),
        low_level_channels: int = 48,
        output_stride: int = 16,
    ):
        super().__init__()
        check_choice("output_stride", output_stride, (8, 16))
        self.encoder = create_encoder(encoder, output_stride, weights=encoder_weights)
        chans = self.encoder.out_channels
        self.aspp = ASPP(chans[-1], aspp_channels, tuple(atrous_rates))
        self.low_level = ConvBNReLU(chans[1], low_level_channels, kernel=1)
        self.decoder = nn.Sequential(
            ConvBNReLU(aspp_channels + low_level_channels, aspp_channels),
            ConvBNReLU(aspp_channels, aspp_channels),
        )
        self.head = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.encoder(x)
        low = self.low_level(feats[1])  # stride 4
        high = upsample_to(self.aspp(feats[-1]), low.shape[-2:])
        return upsample_to(self.head(self.decoder(torch.cat([high, low], dim=1))), size)


@register_model(
    "deeplabv3plus",
    "DeepLabV3+: any encoder at output stride 16 or 8, ASPP, stride-4 low-level skip decoder",
)
def deeplabv3plus(
    num_classes: int,
    encoder: str = "resnet50",
    encoder_weights=None,
    atrous_rates=(6, 12, 18),
    output_stride: int = 16,
) -> DeepLabV3Plus:
    """DeepLabV3+.

    Options:
        encoder: backbone: resnet18/34/50/101/152, mobilenetv3_large or xception65 (the paper's)
        encoder_weights: null, imagenet (torchvision's, downloaded once; not xception65) or a .pth
        atrous_rates: ASPP dilation rates at output stride 16; double them at 8, e.g. [12,24,36]
        output_stride: 16, or 8 (finer and slower: the last two encoder stages dilated)
    """
    from segsim.errors import SegsimError

    rates = tuple(atrous_rates)
    if not rates or not all(isinstance(r, int) and r >= 1 for r in rates):
        raise SegsimError(
            f"atrous_rates must be positive integers, got {atrous_rates!r}",
            "e.g. atrous_rates=[6,12,18]",
        )
    return DeepLabV3Plus(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        atrous_rates=rates,
        output_stride=output_stride,
    )
