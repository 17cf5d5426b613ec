"""PSPNet (Zhao et al. 2017): a dilated encoder at output stride 8 or 16, then a pyramid pooling
module that average-pools the last map into 1x1, 2x2, 3x3 and 6x6 bins, reduces each with a
1x1 conv, upsamples them back and concatenates them with the map itself, so every pixel sees
context at several scales. Logits are resized bilinearly to the input, so any H x W works."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segsim.models.common import ConvBNReLU, upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.registry import check_choice, register_model


def _bin_weights(n, bins: int, like: torch.Tensor) -> torch.Tensor:
    """bins x n averaging matrix with adaptive pooling's bins [floor(i n/b), ceil((i+1) n/b))."""
    pos = torch.arange(n, device=like.device, dtype=like.dtype)
    i = torch.arange(bins, device=like.device, dtype=like.dtype)
    size = pos.new_ones(()) * n  # a tensor, so the ONNX graph keeps n symbolic
    start = torch.floor(i * size / bins)
    end = torch.ceil((i + 1) * size / bins)
    inside = ((pos[None] >= start[:, None]) & (pos[None] < end[:, None])).to(like.dtype)
    return inside / inside.sum(1, keepdim=True)


def adaptive_avg_pool(x: torch.Tensor, bins: int) -> torch.Tensor:
    """F.adaptive_avg_pool2d(x, bins) as two matrix products: the legacy ONNX exporter bakes
    adaptive pooling's kernel for the traced size, these stay right at every H x W."""
    if bins == 1:
        return x.mean(dim=(2, 3), keepdim=True)
    h, w = x.shape[-2:]
    return _bin_weights(h, bins, x) @ x @ _bin_weights(w, bins, x).transpose(0, 1)


class PoolBranch(nn.Module):
    def __init__(self, cin: int, cout: int, bins: int):
        super().__init__()
        self.bins = bins
        if bins == 1:  # no BatchNorm on a 1x1 map: it would fail in training at batch size 1
            self.conv = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        else:
            self.conv = ConvBNReLU(cin, cout, kernel=1)

    def forward(self, x):
        # Always resize (not upsample_to): when the traced map happens to be bins x bins, a
        # skipped resize would be baked into the ONNX graph and break every other size.
        y = self.conv(adaptive_avg_pool(x, self.bins))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


class PyramidPooling(nn.Module):
    """The input map concatenated with one reduced, pooled-and-upsampled copy per bin size."""

    def __init__(self, cin: int, bins=(1, 2, 3, 6), branch_channels: int | None = None):
        super().__init__()
        branch_channels = branch_channels or max(1, cin // len(bins))
        self.branches = nn.ModuleList(PoolBranch(cin, branch_channels, b) for b in bins)
        self.out_channels = cin + branch_channels * len(bins)

    def forward(self, x):
        return torch.cat([x] + [b(x) for b in self.branches], dim=1)


class PSPNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet50",
        encoder_weights=None,
        bins=(1, 2, 3, 6),
        output_stride: int = 8,
        channels: int = 512,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, output_stride, weights=encoder_weights)
        self.ppm = PyramidPooling(self.encoder.out_channels[-1], tuple(bins))
        self.decoder = nn.Sequential(
            ConvBNReLU(self.ppm.out_channels, channels), nn.Dropout2d(dropout)
        )
        self.head = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x):
        deepest = self.encoder(x)[-1]
        return upsample_to(self.head(self.decoder(self.ppm(deepest))), x.shape[-2:])


def check_bins(bins) -> tuple[int, ...]:
    """Shared with UPerNet: pooling bin sizes must be distinct positive integers."""
    from segsim.errors import SegsimError

    try:
        out = tuple(bins)
    except TypeError:
        out = ()
    if (
        not out
        or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in out)
        or len(set(out)) != len(out)
    ):
        raise SegsimError(
            f"bins must be distinct positive integers, got {bins!r}", "e.g. bins=[1,2,3,6]"
        )
    return out


def check_channels(what: str, value) -> int:
    from segsim.errors import SegsimError

    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SegsimError(f"{what} must be a positive integer, got {value!r}", f"e.g. {what}=128")
    return value


@register_model(
    "pspnet",
    "PSPNet: dilated encoder (output stride 8/16) + pyramid pooling (bins 1/2/3/6)",
)
def pspnet(
    num_classes: int,
    encoder: str = "resnet50",
    encoder_weights=None,
    output_stride: int = 8,
    bins=(1, 2, 3, 6),
    channels: int = 512,
) -> PSPNet:
    """Pyramid Scene Parsing Network (Zhao et al. 2017).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        output_stride: 8 (the paper's, finer, slower) or 16 (about 4x cheaper head)
        bins: pooled grid sizes of the pyramid, e.g. [1,2,3,6]
        channels: width of the conv after the pyramid (the paper's 512)
    """
    # type() so that 8.0 (equal to 8 as a number) is refused too
    check_choice(
        "output_stride",
        output_stride if type(output_stride) is int else str(output_stride),
        (8, 16),
    )
    return PSPNet(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        bins=check_bins(bins),
        output_stride=output_stride,
        channels=check_channels("channels", channels),
    )
