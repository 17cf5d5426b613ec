"""The registry is the one front door: listing, defaults, and every way to call it wrong."""

from __future__ import annotations

import pytest
import torch

from segsim.errors import SegsimError
from segsim.models import registry
from segsim.models.registry import (
    DEFAULT_MODEL,
    create_model,
    list_models,
    model_kwargs,
)

EXPECTED = {"unet", "unet_small", "deeplabv3plus", "lraspp_mobilenetv3"}


def test_list_models_names_every_architecture_with_a_description():
    models = list_models()
    assert EXPECTED <= set(models)
    assert list(models) == sorted(models)
    assert all(isinstance(d, str) and d.strip() for d in models.values())


def test_default_model_is_registered_and_builds():
    assert DEFAULT_MODEL in list_models()
    net = create_model(DEFAULT_MODEL, num_classes=4)
    assert net(torch.zeros(1, 3, 40, 40)).shape == (1, 4, 40, 40)


def test_unknown_name_lists_the_choices():
    with pytest.raises(SegsimError) as e:
        create_model("unett", num_classes=4)
    assert "unett" in e.value.problem
    for name in EXPECTED:
        assert name in e.value.fix


def test_unknown_kwarg_lists_the_accepted_ones():
    with pytest.raises(SegsimError) as e:
        create_model("unet", num_classes=4, encodr="resnet18")
    assert "encodr" in e.value.problem
    assert "encoder=" in e.value.fix and "encoder_weights=" in e.value.fix


@pytest.mark.parametrize("model", ["unet", "deeplabv3plus"])
def test_unknown_encoder_lists_the_encoders(model):
    with pytest.raises(SegsimError) as e:
        create_model(model, num_classes=4, encoder="resnet200")
    assert all(
        n in e.value.fix for n in ("resnet18", "resnet101", "mobilenetv3_large", "xception65")
    )


@pytest.mark.parametrize("bad", [0, -3, 2.5, "4", True])
def test_bad_num_classes(bad):
    with pytest.raises(SegsimError):
        create_model("unet_small", num_classes=bad)


@pytest.mark.parametrize("kwargs", [{"width": 2}, {"depth": 9}, {"stem_stride": 4}])
def test_bad_unet_small_options(kwargs):
    with pytest.raises(SegsimError):
        create_model("unet_small", num_classes=2, **kwargs)


def test_bad_encoder_weights_type():
    with pytest.raises(SegsimError):
        create_model("unet", num_classes=2, encoder="resnet18", encoder_weights=42)


def test_bad_atrous_rates():
    with pytest.raises(SegsimError):
        create_model("deeplabv3plus", num_classes=2, encoder="resnet18", atrous_rates=[6, 0])


def test_model_kwargs_reports_defaults():
    assert model_kwargs("unet")["encoder"] == "resnet34"
    assert model_kwargs("unet")["encoder_weights"] is None
    assert "num_classes" not in model_kwargs("unet")


def test_register_model_adds_a_name_and_refuses_a_clash(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.register_model("tiny_test_net", "one 1x1 conv")
    def tiny(num_classes: int, bias: bool = True):
        return torch.nn.Conv2d(3, num_classes, 1, bias=bias)

    assert list_models()["tiny_test_net"] == "one 1x1 conv"
    assert create_model("tiny_test_net", 5, bias=False).bias is None
    with pytest.raises(ValueError):
        registry.register_model("tiny_test_net", "again")(lambda num_classes: None)
