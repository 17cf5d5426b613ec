"""ONNX export: dynamic shapes, metadata round trip, parity with PyTorch, and the .onnx backend."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from segsim.cli import main
from segsim.errors import SegsimError
from segsim.infer.export import export_onnx
from segsim.infer.predictor import Predictor
from test_infer_helpers import (
    block_mask,
    nearest_colour,
    paint,
    probe_labels,
    write_checkpoint,
)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    ckpt = write_checkpoint(d / "best.ckpt", input_size=(32, 48))
    result = export_onnx(ckpt, d / "probe.onnx")
    return ckpt, d / "probe.onnx", result


def test_probe_export_agrees_and_keeps_metadata(probe):
    _, onnx_path, result = probe
    assert result["ok"] and result["argmax_agreement_pct"] >= 99.9
    assert result["max_abs_logit_diff"] < 1e-3
    sizes = {tuple(s["input_shape"]) for s in result["samples"]}
    assert len({s[2:] for s in sizes}) >= 3 and any(
        s[0] == 2 for s in sizes
    )  # sizes and batch vary

    proto = onnx.load(str(onnx_path))
    meta = json.loads({p.key: p.value for p in proto.metadata_props}["segsim"])
    assert "config" not in meta
    assert meta["labels"] == probe_labels().to_dict()
    assert meta["input_size"] == [32, 48]
    # batch, height and width are symbolic in the graph
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "", "height", "width"]


def test_onnx_predictor_reads_its_metadata_and_matches_torch(probe):
    ckpt, onnx_path, _ = probe
    torch_p, onnx_p = Predictor.load(ckpt), Predictor.load(onnx_path)
    assert onnx_p.backend == "onnx" and torch_p.backend == "torch"
    assert onnx_p.labels.to_dict() == torch_p.labels.to_dict()
    assert onnx_p.input_size == torch_p.input_size == (32, 48)
    assert onnx_p.normalization == torch_p.normalization
    rgb = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    np.testing.assert_array_equal(onnx_p.predict(rgb), nearest_colour(rgb))
    truth = block_mask(100, 140, 10, seed=1)
    for opts in ({}, {"tta": "flip"}, {"mode": "sliding"}, {"scales": [0.5, 1, 1.5]}):
        np.testing.assert_array_equal(
            onnx_p.predict(paint(truth), **opts), torch_p.predict(paint(truth), **opts)
        )
        np.testing.assert_allclose(
            onnx_p.predict_proba(paint(truth), **opts),
            torch_p.predict_proba(paint(truth), **opts),
            atol=1e-4,
        )


def test_real_network_stays_dynamic(tmp_path):
    # the default model pads to a multiple of 16 in Python; the export must keep that dynamic
    ckpt = write_checkpoint(
        tmp_path / "u.ckpt", model_name="unet_small", input_size=(64, 96), kwargs={"width": 8}
    )
    r = export_onnx(ckpt, tmp_path / "u.onnx")
    assert r["ok"], r
    assert all(s["argmax_agreement_pct"] >= 99.9 for s in r["samples"])
    torch_p, onnx_p = Predictor.load(ckpt), Predictor.load(tmp_path / "u.onnx")
    rgb = np.random.default_rng(2).integers(0, 256, (77, 51, 3), dtype=np.uint8)
    agree = (onnx_p.predict(rgb, mode="sliding") == torch_p.predict(rgb, mode="sliding")).mean()
    assert agree >= 0.999


def test_export_errors(tmp_path, probe):
    _, onnx_path, _ = probe
    with pytest.raises(SegsimError, match="already an ONNX"):
        export_onnx(onnx_path, tmp_path / "x.onnx")
    with pytest.raises(SegsimError, match="not found"):
        export_onnx(tmp_path / "missing.ckpt", tmp_path / "x.onnx")
    with pytest.raises(SegsimError, match=".onnx"):
        export_onnx(probe[0], tmp_path / "x.txt")
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*"))


def test_onnx_without_segsim_metadata_is_a_user_error(tmp_path, probe):
    proto = onnx.load(str(probe[1]))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "bare.onnx"))
    with pytest.raises(SegsimError, match="no segsim metadata"):
        Predictor.load(tmp_path / "bare.onnx")


def test_export_command_prints_the_agreement(tmp_path, capsys):
    ckpt = write_checkpoint(tmp_path / "run" / "best.ckpt")
    assert (
        main(["export", "--model", str(tmp_path / "run"), "--out", str(tmp_path / "m.onnx")]) == 0
    )
    out = capsys.readouterr().out
    assert "argmax agreement 100.000%" in out and "max |logit diff|" in out
    assert (tmp_path / "m.onnx").is_file()
    assert (
        main(["export", "--model", str(tmp_path / "nope.ckpt"), "--out", str(tmp_path / "n.onnx")])
        == 2
    )
    assert ckpt.is_file()


# Every architecture, small, through the real export: its parity check runs ONNX Runtime and
# PyTorch at the training size and at two other odd sizes, so a height or width baked into the
# graph (a skipped resize, adaptive pooling's traced kernel, an unpool's shape) fails here.
# The three with hand-written dynamic ops (matrix adaptive pooling, scatter unpooling) run
# always; the rest only with the slow tests, as each export takes several seconds.
ARCHS = [
    ("pspnet", {"encoder": "resnet18", "output_stride": 16, "channels": 32}),
    ("segnet", {"width": 8}),
    ("enet", {}),
    pytest.param("fcn", {"encoder": "resnet18", "head_channels": 32}, marks=pytest.mark.slow),
    pytest.param("upernet", {"encoder": "resnet18", "channels": 32}, marks=pytest.mark.slow),
    pytest.param("gcn", {"encoder": "resnet18", "kernel_size": 7}, marks=pytest.mark.slow),
    pytest.param(
        "fpn",
        {"encoder": "resnet18", "pyramid_channels": 32, "segmentation_channels": 32},
        marks=pytest.mark.slow,
    ),
    pytest.param("linknet", {"encoder": "resnet18"}, marks=pytest.mark.slow),
    pytest.param(
        "unetplusplus",
        {"encoder": "resnet18", "decoder_channels": [32, 16, 16, 8, 8]},
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("name", "kwargs"), ARCHS)
def test_architecture_exports_with_dynamic_size(tmp_path, name, kwargs):
    ckpt = write_checkpoint(tmp_path / f"{name}.ckpt", model_name=name, kwargs=kwargs)
    r = export_onnx(ckpt, tmp_path / f"{name}.onnx")
    assert r["ok"], r
    shapes = [s["input_shape"] for s in r["samples"]]
    assert len({tuple(s[2:]) for s in shapes}) == 3 and any(s[2] % 2 for s in shapes)
    assert all(s["argmax_agreement_pct"] >= 99.9 for s in r["samples"]), r["samples"]
