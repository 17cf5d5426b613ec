"""The encoder contract: every encoder's `out_channels` and `strides` describe the maps it
really returns, at odd sizes and every output stride; any model takes any encoder; bad
encoders, options and weights are one-line user errors; `segsim models NAME` documents options.

Reference figures not derived from this code: torchvision's parameter totals (resnet101
44,549,160, resnet152 60,192,808 with the 2048x1000 `fc`) and timm's aligned `xception65`
(39.92 M parameters with its 2048x1000 classifier)."""

import math
from typing import ClassVar

import pytest
import torch

from segsim.errors import SegsimError
from segsim.models import create_model
from segsim.models.encoders import ENCODERS, OUTPUT_STRIDES, create_encoder
from segsim.models.options import format_default, model_options, parse_options_doc
from test_models_base import ModelTester


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _expected_side(side: int, stride: int) -> int:
    # every strided conv pads so that it gives ceil(side / 2)
    for _ in range(int(math.log2(stride))):
        side = math.ceil(side / 2)
    return side


@pytest.mark.parametrize("output_stride", OUTPUT_STRIDES)
@pytest.mark.parametrize("name", ENCODERS)
def test_channels_and_strides_match_the_maps_at_odd_sizes(name, output_stride):
    encoder = create_encoder(name, output_stride).eval()
    with torch.no_grad():
        feats = encoder(torch.randn(1, 3, 37, 53))
    assert isinstance(feats, list) and len(feats) == 5
    assert len(encoder.out_channels) == 5 and len(encoder.strides) == 5
    expected_strides = tuple(min(s, output_stride) for s in (2, 4, 8, 16, 32))
    assert tuple(encoder.strides) == expected_strides
    for f, c, s in zip(feats, encoder.out_channels, encoder.strides, strict=True):
        assert f.shape == (1, c, _expected_side(37, s), _expected_side(53, s)), (name, s)


@pytest.mark.parametrize("name", ["resnet50", "mobilenetv3_large", "xception65"])
def test_output_stride_changes_no_parameter(name):
    shapes = [
        {k: v.shape for k, v in create_encoder(name, s).state_dict().items()}
        for s in OUTPUT_STRIDES
    ]
    assert shapes[0] == shapes[1] == shapes[2]


@pytest.mark.parametrize(
    "name,params",
    [("resnet101", 44_549_160 - 2_049_000), ("resnet152", 60_192_808 - 2_049_000)],
)
def test_deep_resnets_have_torchvisions_parameter_count(name, params):
    assert sum(p.numel() for p in create_encoder(name).parameters()) == params


def test_xception65_is_the_size_of_deeplabs():
    encoder = create_encoder("xception65")
    params = sum(p.numel() for p in encoder.parameters())
    assert abs(params - (39_920_000 - 2_049_000)) < 0.01 * params
    assert len(encoder.blocks) == 3 + 16 + 2  # entry, middle x16, exit flow
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    depthwise = [m for m in convs if m.groups == m.in_channels > 1]
    assert len(depthwise) == 21 * 3  # every block: three separable convs
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in encoder.modules())


def test_xception65_dilates_like_deeplab():
    # output stride 16: the exit flow's first block stops striding, the last one is dilated 2;
    # output stride 8: the middle flow is dilated 2 and the exit flow 2 then 4
    def rates(output_stride):
        enc = create_encoder("xception65", output_stride)
        return [b.convs[0].conv_dw.dilation[0] for b in enc.blocks]

    assert rates(32) == [1] * 21
    assert rates(16) == [1] * 20 + [2]
    assert rates(8) == [1] * 3 + [2] * 16 + [2, 4]


def test_mobilenetv3_taps_are_torchvisions_lraspp_taps():
    # LR-ASPP reads maps 2 and 4: features.4 (the first block at stride 8) and features.16
    encoder = create_encoder("mobilenetv3_large", 16).eval()
    seen = {}
    for i in (4, 16):
        encoder.features[i].register_forward_hook(lambda m, a, out, i=i: seen.__setitem__(i, out))
    with torch.no_grad():
        feats = encoder(torch.randn(1, 3, 64, 64))
    assert torch.equal(feats[2], seen[4]) and torch.equal(feats[4], seen[16])
    # torchvision's dilated=True: the last stage keeps stride 16 with dilation 2
    depthwise = [block.block[1][0] for block in encoder.features[13:16]]
    assert [(c.stride, c.dilation) for c in depthwise] == [((1, 1), (2, 2))] * 3


@pytest.mark.parametrize(
    "model,kwargs",
    [
        ("deeplabv3plus", {"encoder": "xception65"}),
        ("deeplabv3plus", {"encoder": "mobilenetv3_large", "output_stride": 8}),
        ("unet", {"encoder": "resnet101"}),
        ("unet", {"encoder": "mobilenetv3_large"}),
        ("unet", {"encoder": "xception65"}),
        ("lraspp_mobilenetv3", {"encoder": "resnet18"}),
    ],
)
def test_models_take_other_encoders(model, kwargs):
    torch.manual_seed(0)
    net = create_model(model, 3, **kwargs).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 37, 53))
    assert out.shape == (1, 3, 37, 53) and torch.isfinite(out).all()
    assert type(net.encoder).__name__.lower().startswith(kwargs["encoder"][:6])


def test_bad_encoder_option_and_output_stride_are_user_errors():
    with pytest.raises(SegsimError) as e:
        create_model("unet", 3, encoder="resnet99")
    assert "resnet99" in e.value.problem and "xception65" in e.value.fix
    with pytest.raises(SegsimError) as e:
        create_model("unet_small", 3, encoder="resnet18")  # a model without an encoder
    assert "encoder" in e.value.problem and "width" in e.value.fix
    with pytest.raises(SegsimError) as e:
        create_model("deeplabv3plus", 3, output_stride=32)
    assert "output_stride" in e.value.problem and "16" in e.value.fix
    with pytest.raises(SegsimError):
        create_encoder("resnet18", output_stride=4)


def test_xception65_has_no_imagenet_weights():
    with pytest.raises(SegsimError) as e:
        create_model("deeplabv3plus", 3, encoder="xception65", encoder_weights="imagenet")
    assert "no ImageNet weights" in e.value.problem and "xception65" in e.value.problem


@pytest.mark.slow  # builds Xception-65 twice and writes its 150 MB state dict
def test_xception65_loads_its_own_state_dict(tmp_path):
    source = create_encoder("xception65")
    with torch.no_grad():
        source.blocks[7].convs[1].conv_pw.weight.fill_(0.5)
    torch.save(source.state_dict(), tmp_path / "x65.pth")
    net = create_model(
        "deeplabv3plus", 3, encoder="xception65", encoder_weights=tmp_path / "x65.pth"
    )
    assert torch.all(net.encoder.blocks[7].convs[1].conv_pw.weight == 0.5)


def test_options_doc_parser_reads_descriptions_and_continuations():
    doc = """Builder.

    Options:
        alpha: the first one
        beta: the second,
            continued here
        gamma:

    Returns: not an option: ignored
    """
    assert parse_options_doc(doc) == {
        "alpha": "the first one",
        "beta": "the second, continued here",
        "gamma": "",
    }
    assert parse_options_doc(None) == {} and parse_options_doc("no options") == {}


@pytest.mark.parametrize("name", ["unet_small", "unet", "deeplabv3plus", "lraspp_mobilenetv3"])
def test_every_option_of_the_documented_models_has_a_description(name):
    options = model_options(name)
    assert options and all(o.description for o in options), [o.name for o in options]


def test_cli_models_name_prints_options_with_defaults(capsys):
    from segsim.cli import main

    assert main(["models", "deeplabv3plus"]) == 0
    out = capsys.readouterr().out
    for o in model_options("deeplabv3plus"):
        assert f"{o.name}={format_default(o.default)}" in out and o.description in out
    assert "atrous_rates=[6,12,18]" in out and "xception65" in out
    assert main(["models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


# The shared architecture checks (backward reaches every parameter, batch independence, a few
# steps fit) for encoder/decoder pairs the original models did not have.


class TestDeepLabV3PlusMobileNetV3(ModelTester):
    name = "deeplabv3plus"
    kwargs: ClassVar[dict] = {"encoder": "mobilenetv3_large"}


class TestLRASPPResNet18(ModelTester):
    name = "lraspp_mobilenetv3"
    kwargs: ClassVar[dict] = {"encoder": "resnet18", "channels_last": False}


class TestUNetMobileNetV3(ModelTester):
    name = "unet"
    kwargs: ClassVar[dict] = {"encoder": "mobilenetv3_large"}


@pytest.mark.slow  # Xception-65 is 38 M parameters: each check takes seconds on two cores
class TestDeepLabV3PlusXception65(ModelTester):
    name = "deeplabv3plus"
    kwargs: ClassVar[dict] = {"encoder": "xception65"}
    odd_sizes: ClassVar[list] = [(37, 53)]
