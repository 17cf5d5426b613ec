"""segsim predict on an image, a folder and a glob; every user mistake exits 2."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segsim.cli import main
from segsim.infer.export import export_onnx
from segsim.infer.images import write_png
from test_infer_helpers import block_mask, paint, probe_labels, write_checkpoint

SIZE = (32, 48)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    return write_checkpoint(d / "best.ckpt", input_size=SIZE).parent


@pytest.fixture
def photos(tmp_path):
    """Three images of different sizes, painted in 8-pixel blocks. At 1x and 2x the input size
    the answer is exact; at 4x bilinear upsampling may flip a pixel where four blocks meet."""
    folder = tmp_path / "photos"
    truths = {
        "a": block_mask(64, 96, 8, 1),
        "b": block_mask(32, 48, 8, 2),
        "c": block_mask(128, 192, 8, 3),
    }
    for stem, truth in truths.items():
        write_png(folder / f"{stem}.png", paint(truth))
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    return folder, truths


def _mask(path):
    with Image.open(path) as im:
        assert im.mode == "L"
        return np.asarray(im)


def test_single_image_with_overlay(run, photos, tmp_path):
    folder, truths = photos
    out = tmp_path / "out"
    assert (
        main(
            [
                "predict",
                "--model",
                str(run),
                "--input",
                str(folder / "a.png"),
                "--output",
                str(out),
                "--overlay",
                "--quiet",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(_mask(out / "a.png"), truths["a"])
    with Image.open(out / "a_overlay.png") as im:
        overlay = np.asarray(im.convert("RGB"))
    # the overlay of a painted image with its own colours is the image itself
    np.testing.assert_array_equal(overlay, paint(truths["a"]))
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "a_overlay.png"]


@pytest.mark.parametrize("how", ["folder", "glob"])
def test_folder_and_glob(run, photos, tmp_path, how):
    folder, truths = photos
    spec = str(folder) if how == "folder" else str(folder / "[abn]*")  # notes.txt is not an image
    out = tmp_path / "out"
    assert (
        main(["predict", "--model", str(run), "--input", spec, "--output", str(out), "--quiet"])
        == 0
    )
    want = sorted(truths) if how == "folder" else ["a", "b"]
    assert sorted(p.stem for p in out.glob("*.png")) == want
    for stem in want:
        mask = _mask(out / f"{stem}.png")
        assert mask.shape == truths[stem].shape
        if stem == "c":
            assert (mask == truths[stem]).mean() >= 0.99
        else:
            np.testing.assert_array_equal(mask, truths[stem])


@pytest.mark.parametrize(
    "extra, options",
    [
        (["--tta", "flip"], {"tta": "flip"}),
        (["--scales", "0.75,1,1.25"], {"scales": [0.75, 1.0, 1.25]}),
        (["--mode", "sliding"], {"mode": "sliding"}),
    ],
)
def test_options_and_onnx_model(run, photos, tmp_path, extra, options):
    from segsim.infer.predictor import Predictor

    folder, truths = photos
    onnx_path = tmp_path / "m.onnx"
    export_onnx(run, onnx_path)
    rgb = paint(truths["c"])
    for model in (run, onnx_path):
        out = tmp_path / f"out_{model.name}"
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(model),
                    "--input",
                    str(folder / "c.png"),
                    "--output",
                    str(out),
                    "--quiet",
                    *extra,
                ]
            )
            == 0
        )
        mask = _mask(out / "c.png")
        # the command passes its options through: the same mask as the library call
        np.testing.assert_array_equal(mask, Predictor.load(model).predict(rgb, **options))
        assert (mask == truths["c"]).mean() >= 0.95


def test_corrupt_image_is_reported_skipped_and_exits_2(run, photos, tmp_path, capsys):
    folder, _ = photos
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing useful")
    out = tmp_path / "out"
    assert (
        main(
            [
                "predict",
                "--model",
                str(run),
                "--input",
                str(folder),
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "broken.png" in err and "1 of 4 images could not be read" in err and "Traceback" not in err
    )
    assert sorted(p.stem for p in out.glob("*.png")) == [
        "a",
        "b",
        "c",
    ]  # the others were still written
    assert (
        main(
            [
                "predict",
                "--model",
                str(run),
                "--input",
                str(folder / "broken.png"),
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 2
    )


@pytest.mark.parametrize(
    "case",
    [
        "missing model",
        "empty folder",
        "no glob match",
        "missing input",
        "bad scales",
        "negative scale",
        "bad tta",
        "bad mode",
        "clashing stems",
        "output is the input folder",
    ],
)
def test_user_mistakes_exit_2(run, photos, tmp_path, capsys, case):
    folder, _ = photos
    (tmp_path / "empty").mkdir()
    (tmp_path / "dup").mkdir()
    write_png(tmp_path / "dup" / "x.png", np.zeros((4, 4, 3), np.uint8))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "dup" / "x.jpg")
    args = {"model": str(run), "input": str(folder), "extra": []}
    if case == "missing model":
        args["model"] = str(tmp_path / "nothing.ckpt")
    elif case == "empty folder":
        args["input"] = str(tmp_path / "empty")
    elif case == "no glob match":
        args["input"] = str(folder / "*.jpeg")
    elif case == "missing input":
        args["input"] = str(tmp_path / "nope.png")
    elif case == "bad scales":
        args["extra"] = ["--scales", "0.5,big"]
    elif case == "negative scale":
        args["extra"] = ["--scales", "-1"]
    elif case == "bad tta":
        args["extra"] = ["--tta", "rotate"]
    elif case == "bad mode":
        args["extra"] = ["--mode", "tiles"]
    elif case == "clashing stems":
        args["input"] = str(tmp_path / "dup")
    out = tmp_path / "out"
    if case == "output is the input folder":
        out = folder
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code = main(
        [
            "predict",
            "--model",
            args["model"],
            "--input",
            args["input"],
            "--output",
            str(out),
            "--quiet",
            *args["extra"],
        ]
    )
    assert code == 2, case
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    if case == "output is the input folder":
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    elif case != "missing model":
        assert not out.exists() or not list(out.iterdir())


def test_probe_labels_are_what_the_masks_mean(run):
    # guards the fixtures: the probe's label set is the one the masks above are checked against
    assert probe_labels().names == ["background", "red", "green", "blue"]
