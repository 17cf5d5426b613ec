"""The shared ModelTester checks, once per registered architecture and encoder."""

from test_models_base import ModelTester


class TestUNetSmall(ModelTester):
    name = "unet_small"


class TestUNetSmallFullResolutionStem(ModelTester):
    name = "unet_small"
    kwargs = {"width": 8, "depth": 3, "stem_stride": 1, "channels_last": False}


class TestUNetResNet18(ModelTester):
    name = "unet"
    kwargs = {"encoder": "resnet18"}


class TestUNetResNet34(ModelTester):
    name = "unet"
    kwargs = {"encoder": "resnet34"}
    odd_sizes = [(33, 47), (40, 29)]


class TestUNetResNet50(ModelTester):
    name = "unet"
    kwargs = {"encoder": "resnet50"}
    odd_sizes = [(33, 47), (40, 29)]


class TestDeepLabV3PlusResNet18(ModelTester):
    name = "deeplabv3plus"
    kwargs = {"encoder": "resnet18"}


class TestDeepLabV3PlusResNet50(ModelTester):
    name = "deeplabv3plus"
    kwargs = {"encoder": "resnet50", "atrous_rates": (2, 4, 6)}
    odd_sizes = [(33, 47), (40, 29)]


class TestLRASPPMobileNetV3(ModelTester):
    name = "lraspp_mobilenetv3"


class TestLRASPPMobileNetV3ContiguousFormat(ModelTester):
    name = "lraspp_mobilenetv3"
    kwargs = {"channels_last": False}
    odd_sizes = [(37, 53)]
