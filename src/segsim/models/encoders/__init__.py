"""Feature extractors behind one contract, so any decoder takes any encoder.

`create_encoder(name, output_stride=32)` returns an nn.Module with
- `out_channels`: channels of each returned map, shallowest first (5 entries),
- `strides`: the stride of each returned map relative to the input (e.g. 2, 4, 8, 16, 32; with
  output_stride=16 the last is 16, with 8 the last two are 8),
- `forward(x) -> list[Tensor]`: the 5 feature maps in that order.
Every encoder takes output_stride 8, 16 or 32 (dilation instead of the last strides; the
parameters do not change). The ResNets and MobileNetV3 keep torchvision's parameter names so its
ImageNet weights load as-is; Xception-65 has no torchvision weights (a local file only).
"""

from __future__ import annotations

from segsim.models.registry import check_choice

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
ENCODERS = (*RESNETS, "mobilenetv3_large", "xception65")
OUTPUT_STRIDES = (8, 16, 32)


def create_encoder(name: str, output_stride: int = 32, weights=None):
    """Encoder `name` at `output_stride`; `weights` is None, "imagenet" or a state-dict path."""
    from segsim.models.common import check_weights_spec
    from segsim.models.weights import load_encoder_weights

    check_choice("encoder", name, ENCODERS)
    check_choice("output_stride", output_stride, OUTPUT_STRIDES)
    check_weights_spec(weights)
    if name in RESNETS:
        from segsim.models.encoders.resnet import ResNetEncoder

        encoder = ResNetEncoder(name, output_stride=output_stride)
    elif name == "mobilenetv3_large":
        from segsim.models.encoders.mobilenetv3 import MobileNetV3LargeEncoder

        encoder = MobileNetV3LargeEncoder(output_stride=output_stride)
    else:
        from segsim.models.encoders.xception65 import Xception65Encoder

        encoder = Xception65Encoder(output_stride=output_stride)
    return load_encoder_weights(encoder, weights)
