"""The shared ModelTester checks, once per registered architecture and encoder."""

from typing import ClassVar

from test_models_base import ModelTester


class TestUNetSmall(ModelTester):
    name = "unet_small"


class TestUNetSmallFullResolutionStem(ModelTester):
    name = "unet_small"
    kwargs: ClassVar[dict] = {"width": 8, "depth": 3, "stem_stride": 1, "channels_last": False}


class TestUNetResNet18(ModelTester):
    name = "unet"
    kwargs: ClassVar[dict] = {"encoder": "resnet18"}


class TestUNetResNet34(ModelTester):
    name = "unet"
    kwargs: ClassVar[dict] = {"encoder": "resnet34"}
    odd_sizes: ClassVar[list] = [(33, 47), (40, 29)]


class TestUNetResNet50(ModelTester):
    name = "unet"
    kwargs: ClassVar[dict] = {"encoder": "resnet50"}
    odd_sizes: ClassVar[list] = [(33, 47), (40, 29)]


class TestDeepLabV3PlusResNet18(ModelTester):
    name = "deeplabv3plus"
    kwargs: ClassVar[dict] = {"encoder": "resnet18"}


class TestDeepLabV3PlusResNet50(ModelTester):
    name = "deeplabv3plus"
    kwargs: ClassVar[dict] = {"encoder": "resnet50", "atrous_rates": (2, 4, 6)}
    odd_sizes: ClassVar[list] = [(33, 47), (40, 29)]


class TestLRASPPMobileNetV3(ModelTester):
    name = "lraspp_mobilenetv3"


class TestLRASPPMobileNetV3ContiguousFormat(ModelTester):
    name = "lraspp_mobilenetv3"
    kwargs: ClassVar[dict] = {"channels_last": False}
    odd_sizes: ClassVar[list] = [(37, 53)]
