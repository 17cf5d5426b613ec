"""FPN with the semantic-segmentation branch of Panoptic FPN (Kirillov et al. 2019): a feature
pyramid (lateral 1x1 convs on the stride-4..32 encoder maps, top-down sum, a 3x3 conv per level,
256 channels), then per level a stack of 3x3 conv-GroupNorm-ReLU (128 channels) with a x2
upsampling after each, as many as it takes to reach stride 4 (P5: three, P2: one conv only);
the levels are summed at stride 4, classified by a 1x1 conv and upsampled to the input.
Bilinear resizing to each map's exact size (the paper's nearest x2 in the top-down path
included) makes any H x W work."""

from __future__ import annotations

from torch import nn

from segsim.models.common import upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.pspnet import check_channels
from segsim.models.registry import register_model


class ConvGNReLU(nn.Sequential):
    """GroupNorm, as the paper: it keeps the head independent of the batch size."""

    def __init__(self, cin: int, cout: int):
        groups = 32 if cout % 32 == 0 else 1
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.GroupNorm(groups, cout),
            nn.ReLU(inplace=True),
        )


class SegmentationBranch(nn.Module):
    """One pyramid level to stride 4: `ups` convs each followed by a x2 upsample (to the size of
    the next finer level), or a single conv for the stride-4 level itself."""

    def __init__(self, cin: int, cout: int, ups: int):
        super().__init__()
        self.convs = nn.ModuleList(
            ConvGNReLU(cin if i == 0 else cout, cout) for i in range(max(1, ups))
        )
        self.ups = ups

    def forward(self, x, sizes):
        # sizes: the spatial sizes of the finer levels this branch passes through, coarse first
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < self.ups:
                x = upsample_to(x, sizes[i])
        return x


class FPNDecoder(nn.Module):
    """Takes the encoder maps at strides 4, 8, 16, 32 (shallowest first)."""

    def __init__(self, in_channels, pyramid_channels: int = 256, segmentation_channels: int = 128):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, pyramid_channels, 1) for c in in_channels)
        self.output = nn.ModuleList(
            nn.Conv2d(pyramid_channels, pyramid_channels, 3, padding=1) for _ in in_channels
        )
        self.branches = nn.ModuleList(
            SegmentationBranch(pyramid_channels, segmentation_channels, level)
            for level in range(len(in_channels))
        )
        self.out_channels = segmentation_channels

    def forward(self, feats):
        top = self.lateral[-1](feats[-1])
        pyramid = [top]
        for i in range(len(feats) - 2, -1, -1):
            lateral = self.lateral[i](feats[i])
            top = lateral + upsample_to(top, lateral.shape[-2:])
            pyramid.insert(0, top)
        pyramid = [conv(p) for conv, p in zip(self.output, pyramid, strict=True)]
        sizes = [p.shape[-2:] for p in pyramid]
        out = self.branches[0](pyramid[0], [])
        for level in range(1, len(pyramid)):
            out = out + self.branches[level](pyramid[level], sizes[:level][::-1])
        return out


class FPN(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet50",
        encoder_weights=None,
        pyramid_channels: int = 256,
        segmentation_channels: int = 128,
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        self.decoder = FPNDecoder(
            self.encoder.out_channels[1:], pyramid_channels, segmentation_channels
        )
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 1)

    def forward(self, x):
        feats = self.encoder(x)[1:]  # strides 4-32: the paper's P2-P5
        return upsample_to(self.head(self.decoder(feats)), x.shape[-2:])


@register_model(
    "fpn", "FPN: Panoptic FPN semantic head (256-ch pyramid, 128-ch branches summed at stride 4)"
)
def fpn(
    num_classes: int,
    encoder: str = "resnet50",
    encoder_weights=None,
    pyramid_channels: int = 256,
    segmentation_channels: int = 128,
) -> FPN:
    """Feature Pyramid Network with the Panoptic FPN semantic branch (Kirillov et al. 2019).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        pyramid_channels: width of the feature pyramid (the paper's 256)
        segmentation_channels: width of the per-level branches summed at stride 4 (the paper's 128)
    """
    return FPN(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        pyramid_channels=check_channels("pyramid_channels", pyramid_channels),
        segmentation_channels=check_channels("segmentation_channels", segmentation_channels),
    )
