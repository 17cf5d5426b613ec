"""Encoders keep torchvision's names, so torchvision files load as-is; weights from files and
from the ImageNet URLs (the download itself is replaced by a fake: tests run offline).

The reference names, counts and sizes below were taken from torchvision's published models
(len(resnet18().state_dict()) == 122 with `fc`, parameter totals 11,689,512 / 21,797,672 /
25,557,032 / 44,549,160 / 60,192,808 / 5,483,032 including the classification heads), not from
this code. ResNet-101/152 entry counts: resnet50's 320 plus 18 per extra bottleneck (3 convs
and 3 BatchNorms of 5 entries each): 17 more blocks -> 626, 34 more -> 932.
"""

from __future__ import annotations

import pytest
import torch

from segsim.errors import SegsimError
from segsim.models import create_model
from segsim.models.encoders.mobilenetv3 import MobileNetV3LargeEncoder
from segsim.models.encoders.resnet import ResNetEncoder
from segsim.models.weights import IMAGENET_URLS, load_encoder_weights

# torchvision state-dict length / parameter count minus the classifier head.
TORCHVISION = {
    # name: (state-dict entries without fc/classifier, parameters without the head)
    "resnet18": (122 - 2, 11_689_512 - (512 * 1000 + 1000)),
    "resnet34": (218 - 2, 21_797_672 - (512 * 1000 + 1000)),
    "resnet50": (320 - 2, 25_557_032 - (2048 * 1000 + 1000)),
    "resnet101": (626 - 2, 44_549_160 - (2048 * 1000 + 1000)),
    "resnet152": (932 - 2, 60_192_808 - (2048 * 1000 + 1000)),
}

RESNET18_KEYS = [
    "conv1.weight",
    "bn1.running_mean",
    "bn1.num_batches_tracked",
    "layer1.0.conv1.weight",
    "layer1.1.bn2.bias",
    "layer2.0.downsample.0.weight",
    "layer2.0.downsample.1.running_var",
    "layer3.1.conv2.weight",
    "layer4.1.bn2.running_var",
]
RESNET50_KEYS = [
    "conv1.weight",
    "layer1.0.downsample.0.weight",
    "layer1.0.downsample.1.weight",
    "layer1.2.conv3.weight",
    "layer1.2.bn3.running_mean",
    "layer3.5.bn3.weight",
    "layer4.0.downsample.1.running_var",
    "layer4.2.conv3.weight",
    "layer4.1.bn2.running_var",
]
# the deepest blocks of each stage: layer3 has 23 blocks in resnet101, 36 in resnet152
RESNET101_KEYS = [
    "layer3.22.conv3.weight",
    "layer3.22.bn3.num_batches_tracked",
    "layer4.2.bn3.bias",
]
RESNET152_KEYS = ["layer2.7.conv2.weight", "layer3.35.bn3.running_var", "layer4.2.conv3.weight"]
SHAPES = {
    ("resnet18", "layer2.0.downsample.0.weight"): (128, 64, 1, 1),
    ("resnet18", "layer4.1.conv2.weight"): (512, 512, 3, 3),
    ("resnet50", "layer1.0.conv1.weight"): (64, 64, 1, 1),
    ("resnet50", "layer1.0.downsample.0.weight"): (256, 64, 1, 1),
    ("resnet50", "layer4.2.conv3.weight"): (2048, 512, 1, 1),
    ("resnet101", "layer3.22.conv2.weight"): (256, 256, 3, 3),
    ("resnet152", "layer2.7.conv3.weight"): (512, 128, 1, 1),
}


@pytest.mark.parametrize("arch", list(TORCHVISION))
def test_resnet_encoder_has_torchvisions_size(arch):
    encoder = ResNetEncoder(arch)
    entries, params = TORCHVISION[arch]
    assert len(encoder.state_dict()) == entries
    assert sum(p.numel() for p in encoder.parameters()) == params


@pytest.mark.parametrize(
    "arch,keys",
    [
        ("resnet18", RESNET18_KEYS),
        ("resnet50", RESNET50_KEYS),
        ("resnet101", RESNET101_KEYS),
        ("resnet152", RESNET152_KEYS),
    ],
)
def test_resnet_encoder_has_torchvisions_names(arch, keys):
    state = ResNetEncoder(arch).state_dict()
    assert [k for k in keys if k not in state] == []
    assert not any(k.startswith("fc.") for k in state)
    if arch == "resnet101":  # one block past the end of each stage does not exist
        assert "layer3.23.conv1.weight" not in state and "layer2.4.conv1.weight" not in state
    if arch == "resnet18":  # BasicBlock has no third conv and layer1 needs no downsample
        assert "layer1.0.conv3.weight" not in state and "layer1.0.downsample.0.weight" not in state


@pytest.mark.parametrize("arch_key,shape", list(SHAPES.items()))
def test_resnet_tensor_shapes_match_torchvision(arch_key, shape):
    arch, key = arch_key
    assert tuple(ResNetEncoder(arch).state_dict()[key].shape) == shape


def test_dilated_encoder_keeps_names_and_output_stride_16():
    plain, dilated = ResNetEncoder("resnet50"), ResNetEncoder("resnet50", dilate_last=True)
    assert {k: v.shape for k, v in plain.state_dict().items()} == {
        k: v.shape for k, v in dilated.state_dict().items()
    }
    feats = dilated(torch.zeros(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 4]
    assert [f.shape[1] for f in feats] == list(dilated.out_channels)


def test_mobilenetv3_encoder_matches_torchvision_features():
    state = MobileNetV3LargeEncoder().state_dict()
    assert sum(
        v.numel()
        for k, v in state.items()
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ) == 5_483_032 - (960 * 1280 + 1280 + 1280 * 1000 + 1000)
    assert tuple(state["features.0.0.weight"].shape) == (16, 3, 3, 3)
    assert tuple(state["features.4.block.2.fc1.weight"].shape) == (
        24,
        72,
        1,
        1,
    )  # SE squeeze of block 4
    assert tuple(state["features.16.0.weight"].shape) == (960, 160, 1, 1)
    assert "features.1.block.0.0.weight" in state  # block 1 has no expansion: depthwise comes first


def _randomized_torchvision_file(arch, path, wrap=None):
    """A torchvision-format file (head included) whose every tensor differs from a fresh
    encoder's."""
    torch.manual_seed(123)
    state = {}
    for k, v in ResNetEncoder(arch).state_dict().items():
        state[k] = (
            torch.randint(0, 1000, v.shape) if v.dtype == torch.long else torch.rand_like(v) + 0.5
        )
    width = 2048 if arch == "resnet50" else 512
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, width), torch.randn(1000)
    torch.save({wrap: state} if wrap else state, path)
    return state


@pytest.mark.parametrize("wrap", [None, "state_dict", "model"])
def test_unet_loads_encoder_weights_from_a_file(tmp_path, wrap):
    path = tmp_path / "r18.pth"
    saved = _randomized_torchvision_file("resnet18", path, wrap)
    net = create_model("unet", num_classes=3, encoder="resnet18", encoder_weights=str(path))
    loaded = net.encoder.state_dict()
    assert set(loaded) == set(saved) - {"fc.weight", "fc.bias"}
    for k, v in loaded.items():
        assert torch.equal(v, saved[k]), k


def test_deeplab_loads_encoder_weights_from_a_file(tmp_path):
    path = tmp_path / "r50.pth"
    saved = _randomized_torchvision_file("resnet50", path)
    net = create_model("deeplabv3plus", num_classes=3, encoder="resnet50", encoder_weights=path)
    assert torch.equal(net.encoder.layer4[2].conv3.weight, saved["layer4.2.conv3.weight"])


def test_file_without_batchnorm_counters_still_loads(tmp_path):
    # torchvision's older files predate num_batches_tracked.
    path = tmp_path / "old.pth"
    state = {
        k: v
        for k, v in _randomized_torchvision_file("resnet18", path).items()
        if not k.endswith("num_batches_tracked")
    }
    torch.save(state, path)
    encoder = load_encoder_weights(ResNetEncoder("resnet18"), path)
    assert torch.equal(encoder.bn1.running_var, state["bn1.running_var"])


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "r18.pth"
    _randomized_torchvision_file("resnet18", path)
    with pytest.raises(SegsimError) as e:
        create_model("unet", num_classes=3, encoder="resnet50", encoder_weights=str(path))
    assert "resnet50" in e.value.problem and "missing" in e.value.problem


def test_wrong_shapes_are_refused(tmp_path):
    path = tmp_path / "r34_as_r18.pth"
    state = ResNetEncoder("resnet18").state_dict()
    state["conv1.weight"] = torch.zeros(64, 4, 7, 7)  # e.g. an RGB-D stem
    torch.save(state, path)
    with pytest.raises(SegsimError) as e:
        load_encoder_weights(ResNetEncoder("resnet18"), path)
    assert "conv1.weight" in e.value.problem and "wrong shape" in e.value.problem


def test_missing_and_unreadable_files_are_user_errors(tmp_path):
    with pytest.raises(SegsimError):
        load_encoder_weights(ResNetEncoder("resnet18"), tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SegsimError):
        load_encoder_weights(ResNetEncoder("resnet18"), junk)
    not_tensors = tmp_path / "list.pth"
    torch.save({"a": [1, 2]}, not_tensors)
    with pytest.raises(SegsimError):
        load_encoder_weights(ResNetEncoder("resnet18"), not_tensors)


@pytest.mark.parametrize(
    "arch,filename",
    [
        ("resnet18", "resnet18-f37072fd.pth"),
        ("resnet34", "resnet34-b627a593.pth"),
        ("resnet50", "resnet50-11ad3fa6.pth"),
        ("resnet101", "resnet101-63fe2227.pth"),
        ("resnet152", "resnet152-394f9c45.pth"),
    ],
)
def test_imagenet_goes_to_torchvisions_url(monkeypatch, arch, filename):
    calls = []
    source = ResNetEncoder(arch)
    with torch.no_grad():
        source.conv1.weight.fill_(0.25)
    fake_file = {**source.state_dict(), "fc.weight": torch.zeros(1), "fc.bias": torch.zeros(1)}

    def fake_download(url, *args, **kwargs):
        calls.append(url)
        return fake_file

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    net = create_model("unet", num_classes=2, encoder=arch, encoder_weights="imagenet")
    assert calls == [f"https://download.pytorch.org/models/{filename}"]
    assert torch.all(net.encoder.conv1.weight == 0.25)


def test_lraspp_imagenet_uses_mobilenetv3_url(monkeypatch):
    calls = []

    def fake_download(url, *args, **kwargs):
        calls.append(url)
        return {**MobileNetV3LargeEncoder().state_dict(), "classifier.0.weight": torch.zeros(1)}

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    create_model("lraspp_mobilenetv3", num_classes=2, encoder_weights="imagenet")
    assert calls == [IMAGENET_URLS["mobilenet_v3_large"]]
    assert calls[0].startswith("https://download.pytorch.org/models/mobilenet_v3_large-")


def test_offline_imagenet_download_is_a_user_error(monkeypatch):
    import urllib.error

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(SegsimError) as e:
        create_model("unet", num_classes=2, encoder="resnet18", encoder_weights="imagenet")
    assert "--encoder-weights" in e.value.fix
