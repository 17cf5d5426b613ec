"""LinkNet (Chaurasia & Culurciello 2017): an encoder whose maps are *added* (not concatenated)
to a light decoder. Each decoder block narrows with a 1x1 conv to a quarter, upsamples x2 with
a 3x3 transposed conv and widens with a 1x1 conv to the next skip's width; the sum goes on to
the next block. After the stride-2 skip, a last block reaches full resolution for the
classifier. The input is zero-padded to a multiple of the encoder's deepest stride and the
logits cropped back, so any H x W works."""

from __future__ import annotations

from torch import nn

from segsim.models.common import ConvBNReLU, pad_to_multiple
from segsim.models.encoders import create_encoder
from segsim.models.registry import register_model


class LinkDecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = max(1, cin // 4)
        self.block = nn.Sequential(
            ConvBNReLU(cin, mid, kernel=1),
            nn.ConvTranspose2d(mid, mid, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            ConvBNReLU(mid, cout, kernel=1),
        )

    def forward(self, x):
        return self.block(x)


class LinkNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet18",
        encoder_weights=None,
        final_channels: int = 32,
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        deep_first = list(self.encoder.out_channels[::-1])
        # One block per skip (deepest map -> the next shallower map's width), then full resolution.
        outs = deep_first[1:] + [final_channels]
        self.blocks = nn.ModuleList(
            LinkDecoderBlock(cin, cout) for cin, cout in zip(deep_first, outs, strict=True)
        )
        self.head = nn.Conv2d(final_channels, num_classes, 3, padding=1)
        self.multiple = self.encoder.strides[-1]

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, self.multiple)
        deep_first = self.encoder(x)[::-1]
        y = deep_first[0]
        for block, skip in zip(self.blocks, deep_first[1:] + [None], strict=True):
            y = block(y)
            if skip is not None:
                y = y + skip
        return self.head(y)[..., :h, :w]


@register_model("linknet", "LinkNet: light decoder whose blocks are added to the encoder skips")
def linknet(num_classes: int, encoder: str = "resnet18", encoder_weights=None) -> LinkNet:
    """LinkNet (Chaurasia & Culurciello 2017), built for speed: ResNet-18 is the paper's encoder.

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
    """
    return LinkNet(num_classes, encoder=encoder, encoder_weights=encoder_weights)
