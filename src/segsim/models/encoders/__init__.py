"""Feature extractors behind one contract, so any decoder takes any encoder.

`create_encoder(name, output_stride=32)` returns an nn.Module with
- `out_channels`: channels of each returned map, shallowest first (5 entries),
- `strides`: the stride of each returned map relative to the input (e.g. 2, 4, 8, 16, 32; with
  output_stride=16 the last is 16, with 8 the last two are 8),
- `forward(x) -> list[Tensor]`: the 5 feature maps in that order.
Each encoder keeps torchvision's parameter names so its ImageNet weights load as-is.
"""

from __future__ import annotations

from segsim.models.registry import check_choice

RESNETS = ("resnet18", "resnet34", "resnet50")
ENCODERS = RESNETS


def create_encoder(name: str, output_stride: int = 32):
    check_choice("encoder", name, ENCODERS)
    check_choice("output_stride", output_stride, (16, 32))
    from segsim.models.encoders.resnet import ResNetEncoder

    return ResNetEncoder(name, dilate_last=output_stride == 16)
