"""GCN, "Large Kernel Matters" (Peng et al. 2017): every encoder map from stride 4 to 32 gets a
global convolution module, a k x k receptive field built from a k x 1 then 1 x k branch plus a
1 x k then k x 1 branch (linear, no BN or ReLU, as in the paper), straight to class scores; a
boundary refinement block (a residual pair of 3x3 convs) sharpens each score map, and the maps
are fused coarse to fine and upsampled twice more, each step refined again. Bilinear resizing to
each map's exact size (instead of the paper's deconvolutions) makes any H x W work."""

from __future__ import annotations

from torch import nn

from segsim.models.common import upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.registry import check_choice, register_model

KERNEL_SIZES = (7, 9, 11, 13, 15)


class GlobalConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int):
        super().__init__()
        p = k // 2
        self.left = nn.Sequential(
            nn.Conv2d(cin, cout, (k, 1), padding=(p, 0)),
            nn.Conv2d(cout, cout, (1, k), padding=(0, p)),
        )
        self.right = nn.Sequential(
            nn.Conv2d(cin, cout, (1, k), padding=(0, p)),
            nn.Conv2d(cout, cout, (k, 1), padding=(p, 0)),
        )

    def forward(self, x):
        return self.left(x) + self.right(x)


class BoundaryRefine(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1)
        )

    def forward(self, x):
        return x + self.residual(x)


class GCN(nn.Module):
    def __init__(
        self, num_classes: int, encoder: str = "resnet50", encoder_weights=None, kernel_size=15
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        levels = self.encoder.out_channels[1:]  # strides 4, 8, 16, 32
        self.gcn = nn.ModuleList(GlobalConv(c, num_classes, kernel_size) for c in levels)
        self.refine = nn.ModuleList(BoundaryRefine(num_classes) for _ in levels)
        # After each coarse-to-fine sum, then after the x2 (to stride 2) and final upsampling.
        self.refine_fused = nn.ModuleList(BoundaryRefine(num_classes) for _ in levels[1:])
        self.refine_up = nn.ModuleList(BoundaryRefine(num_classes) for _ in range(2))

    def forward(self, x):
        feats = self.encoder(x)
        scores = [br(g(f)) for g, br, f in zip(self.gcn, self.refine, feats[1:], strict=True)]
        y = scores[-1]
        for i in range(len(scores) - 2, -1, -1):
            y = self.refine_fused[i](upsample_to(y, scores[i].shape[-2:]) + scores[i])
        y = self.refine_up[0](upsample_to(y, feats[0].shape[-2:]))
        return self.refine_up[1](upsample_to(y, x.shape[-2:]))


@register_model(
    "gcn", "GCN (Large Kernel Matters): k x 1 + 1 x k global convs, boundary refinement"
)
def gcn(
    num_classes: int, encoder: str = "resnet50", encoder_weights=None, kernel_size: int = 15
) -> GCN:
    """Global Convolutional Network (Peng et al. 2017).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        kernel_size: k of the global convolutions, odd, 7 to 15 (the paper's best: 15)
    """
    # type() so that 15.0 or True (equal to a choice as numbers) are refused too
    check_choice(
        "kernel_size", kernel_size if type(kernel_size) is int else str(kernel_size), KERNEL_SIZES
    )
    return GCN(num_classes, encoder, encoder_weights, kernel_size)
