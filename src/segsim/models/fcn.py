"""FCN-8s (Long et al. 2015) on a modern encoder: class scores predicted from the stride-32,
stride-16 and stride-8 maps, the coarse scores upsampled and added to the finer ones step by
step, then resized to the input. Bilinear resizing to each map's exact size (instead of the
paper's learned deconvolutions and crop offsets) makes any H x W work."""

from __future__ import annotations

from torch import nn

from segsim.models.common import ConvBNReLU, upsample_to
from segsim.models.encoders import create_encoder
from segsim.models.pspnet import check_channels
from segsim.models.registry import register_model


class FCN8s(nn.Module):
    def __init__(
        self,
        num_classes: int,
        encoder: str = "resnet50",
        encoder_weights=None,
        head_channels: int = 512,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.encoder = create_encoder(encoder, weights=encoder_weights)
        chans = self.encoder.out_channels
        # The paper's fc6/fc7 on the deepest map, as a 3x3 conv, before its score layer.
        self.head = nn.Sequential(
            ConvBNReLU(chans[4], head_channels),
            nn.Dropout2d(dropout),
            nn.Conv2d(head_channels, num_classes, 1),
        )
        self.score16 = nn.Conv2d(chans[3], num_classes, 1)
        self.score8 = nn.Conv2d(chans[2], num_classes, 1)
        # Zero-initialised skip scores: training starts from the coarse FCN-32s answer, as the
        # paper's stage-wise training did.
        for conv in (self.score16, self.score8):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x):
        feats = self.encoder(x)
        s16 = self.score16(feats[3])
        score = upsample_to(self.head(feats[4]), s16.shape[-2:]) + s16
        s8 = self.score8(feats[2])
        score = upsample_to(score, s8.shape[-2:]) + s8
        return upsample_to(score, x.shape[-2:])


@register_model("fcn", "FCN-8s: encoder scores from strides 32, 16 and 8 fused coarse to fine")
def fcn(
    num_classes: int, encoder: str = "resnet50", encoder_weights=None, head_channels: int = 512
) -> FCN8s:
    """Fully convolutional network, 8s variant (Long et al. 2015).

    Options:
        encoder: backbone, one of the encoders listed below
        encoder_weights: null, imagenet (torchvision's, downloaded once) or a .pth state dict
        head_channels: width of the conv on the deepest map before its class scores
    """
    return FCN8s(
        num_classes,
        encoder=encoder,
        encoder_weights=encoder_weights,
        head_channels=check_channels("head_channels", head_channels),
    )
