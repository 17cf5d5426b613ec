"""ENet (Paszke et al. 2016), the real-time network: an initial block that concatenates a
strided 3x3 conv with a max-pooled copy of the image, residual bottlenecks (1x1 reduce, a
regular, dilated or asymmetric 5x1 + 1x5 conv, 1x1 expand, spatial dropout) in three stages at
strides 4 and 8, and a small decoder whose upsampling bottlenecks max-unpool with the encoder's
pooling indices. PReLU in the encoder, ReLU in the decoder, as the reference implementation.
The input is zero-padded to a multiple of 8 and the logits cropped back, so any H x W works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import pad_to_multiple
from segsim.models.registry import register_model
from segsim.models.segnet import max_unpool2x


def _bn_act(c: int, relu: bool) -> list[nn.Module]:
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True) if relu else nn.PReLU(c)]


class InitialBlock(nn.Module):
    def __init__(self, cout: int = 16):
        super().__init__()
        self.conv = nn.Conv2d(3, cout - 3, 3, stride=2, padding=1, bias=False)
        self.out = nn.Sequential(*_bn_act(cout, relu=False))

    def forward(self, x):
        return self.out(torch.cat([self.conv(x), F.max_pool2d(x, 2, 2)], dim=1))


class Bottleneck(nn.Module):
    """Residual bottleneck; kind is "regular", "dilated" (with dilation) or "asymmetric"."""

    def __init__(
        self,
        c: int,
        kind: str = "regular",
        dilation: int = 1,
        dropout: float = 0.1,
        relu: bool = False,
    ):
        super().__init__()
        mid = c // 4
        if kind == "asymmetric":  # a 5x5 receptive field for the weights of two 5-tap convs
            middle = [
                nn.Conv2d(mid, mid, (5, 1), padding=(2, 0), bias=False),
                *_bn_act(mid, relu),
                nn.Conv2d(mid, mid, (1, 5), padding=(0, 2), bias=False),
            ]
        else:
            middle = [nn.Conv2d(mid, mid, 3, padding=dilation, dilation=dilation, bias=False)]
        self.branch = nn.Sequential(
            nn.Conv2d(c, mid, 1, bias=False),
            *_bn_act(mid, relu),
            *middle,
            *_bn_act(mid, relu),
            nn.Conv2d(mid, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.Dropout2d(dropout),
        )
        self.act = nn.ReLU(inplace=True) if relu else nn.PReLU(c)

    def forward(self, x):
        return self.act(x + self.branch(x))


class DownBottleneck(nn.Module):
    """Halves the resolution: the main path max-pools (keeping the indices) and zero-pads the
    channels; the branch replaces the 1x1 reduction with a 2x2 stride-2 conv."""

    def __init__(self, cin: int, cout: int, dropout: float = 0.1):
        super().__init__()
        mid = cout // 4
        self.extra = cout - cin
        self.branch = nn.Sequential(
            nn.Conv2d(cin, mid, 2, stride=2, bias=False),
            *_bn_act(mid, relu=False),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            *_bn_act(mid, relu=False),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(cout)

    def forward(self, x):
        main, indices = F.max_pool2d(x, 2, 2, return_indices=True)
        main = F.pad(main, (0, 0, 0, 0, 0, self.extra))
        return self.act(main + self.branch(x)), indices


class UpBottleneck(nn.Module):
    """Doubles the resolution: the main path narrows with a 1x1 conv and max-unpools with the
    matching DownBottleneck's indices; the branch upsamples with a 3x3 transposed conv."""

    def __init__(self, cin: int, cout: int, dropout: float = 0.1):
        super().__init__()
        mid = cin // 4
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.branch = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False),
            *_bn_act(mid, relu=True),
            nn.ConvTranspose2d(mid, mid, 3, stride=2, padding=1, output_padding=1, bias=False),
            *_bn_act(mid, relu=True),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.Dropout2d(dropout),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x, indices):
        return self.act(max_unpool2x(self.main(x), indices) + self.branch(x))


def _stage(c: int, dropout: float) -> nn.Sequential:
    """Stages 2 and 3: the paper's sequence of widening receptive fields at stride 8."""
    kinds = [("regular", 1), ("dilated", 2), ("asymmetric", 1), ("dilated", 4)]
    kinds += [("regular", 1), ("dilated", 8), ("asymmetric", 1), ("dilated", 16)]
    return nn.Sequential(*(Bottleneck(c, k, d, dropout) for k, d in kinds))


class ENetEncoder(nn.Module):
    """Initial block and stages 1-3; forward returns the stride-8 map and the two sets of
    pooling indices the decoder unpools with (stride 2->4, then 4->8)."""

    def __init__(self):
        super().__init__()
        self.initial = InitialBlock(16)
        self.down1 = DownBottleneck(16, 64, dropout=0.01)
        self.stage1 = nn.Sequential(*(Bottleneck(64, dropout=0.01) for _ in range(4)))
        self.down2 = DownBottleneck(64, 128)
        self.stage2 = _stage(128, 0.1)
        self.stage3 = _stage(128, 0.1)
        self.out_channels = (16, 64, 128)
        self.strides = (2, 4, 8)

    def forward(self, x):
        x, idx1 = self.down1(self.initial(x))
        x, idx2 = self.down2(self.stage1(x))
        return self.stage3(self.stage2(x)), (idx1, idx2)


class ENet(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.encoder = ENetEncoder()
        self.up4 = UpBottleneck(128, 64)
        self.stage4 = nn.Sequential(*(Bottleneck(64, relu=True) for _ in range(2)))
        self.up5 = UpBottleneck(64, 16)
        self.stage5 = Bottleneck(16, relu=True)
        self.head = nn.ConvTranspose2d(
            16, num_classes, 3, stride=2, padding=1, output_padding=1, bias=False
        )

    def forward(self, x):
        x, (h, w) = pad_to_multiple(x, 8)
        y, (idx1, idx2) = self.encoder(x)
        y = self.stage4(self.up4(y, idx2))
        y = self.stage5(self.up5(y, idx1))
        return self.head(y)[..., :h, :w]


@register_model("enet", "ENet: real-time bottleneck encoder, max-unpooling decoder (0.4 M params)")
def enet(num_classes: int) -> ENet:
    """ENet (Paszke et al. 2016); its own encoder, trained from scratch. No options: the paper's
    widths and stage layout are what make it real-time."""
    return ENet(num_classes)
