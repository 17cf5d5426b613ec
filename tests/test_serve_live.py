"""Real servers on 127.0.0.1: many concurrent clients against uvicorn, and `segsim serve` itself
with a real (untrained, tiny) checkpoint, the real predictor and the real renderer."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from serve_fakes import expected_mask, live_server


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_sixteen_clients_against_uvicorn_all_get_their_own_answer():
    images = [
        np.random.default_rng(i).integers(0, 256, (24 + i, 40, 3), dtype=np.uint8)
        for i in range(16)
    ]
    with live_server(env={"SEGSIM_FAKE_DELAY": "0.005"}) as url:

        def client(i):
            with httpx.Client(base_url=url, timeout=60) as c:
                out = []
                for _ in range(3):
                    r = c.post(
                        "/v1/predict", files={"file": (f"{i}.png", png(images[i]), "image/png")}
                    )
                    out.append(
                        (
                            r.status_code,
                            np.asarray(Image.open(io.BytesIO(r.content)))
                            if r.status_code == 200
                            else r.text,
                        )
                    )
                return out

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(client, range(16)))
    for i, out in enumerate(results):
        for status, mask in out:
            assert status == 200, mask
            np.testing.assert_array_equal(mask, expected_mask(images[i]))


def segsim(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "segsim", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained unet_small with the shapes preset's labels, in the training checkpoint
    format."""
    torch = pytest.importorskip("torch")
    from segsim.models.checkpoint import make_info
    from segsim.models.registry import create_model
    from segsim.scene.config import load_scene_config

    labels = load_scene_config("shapes").label_set()
    torch.manual_seed(0)
    model = create_model("unet_small", labels.num_classes, width=8).eval()
    info = make_info(
        "unet_small", {"width": 8}, labels, (64, 64), config={"data": {"preset": "shapes"}}
    )
    path = tmp_path_factory.mktemp("model") / "tiny.ckpt"
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "segsim": info},
        path,
    )
    return path, labels


@pytest.mark.parametrize(
    "args,words",
    [
        (["--view-size", "huge"], "--view-size"),
        (["--port", "70000"], "--port"),
        (["--max-bytes", "0"], "--max-bytes"),  # the library names max_bytes; the CLI, its flag
        (["--threads", "0"], "--threads"),
        (["--scene", "no_such_preset"], "no_such_preset"),
    ],
)
def test_serve_refuses_bad_flags_with_exit_2(checkpoint, args, words):
    r = segsim("serve", "--model", str(checkpoint[0]), *args)
    assert r.returncode == 2, r.stderr
    assert "error:" in r.stderr and words in r.stderr and "Traceback" not in r.stderr


def test_serve_refuses_a_missing_model():
    r = segsim("serve", "--model", "/nonexistent/model.ckpt")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_segsim_serve_end_to_end(checkpoint):
    from websockets.sync.client import connect

    from segsim.serve.viewer import unpack_frame

    path, labels = checkpoint
    cmd = [
        sys.executable,
        "-m",
        "segsim",
        "serve",
        "--model",
        str(path),
        "--port",
        "{port}",
        "--view-size",
        "64x48",
        "--threads",
        "1",
    ]
    with live_server(cmd, timeout=120) as url:
        info = httpx.get(url + "/v1/model").json()
        assert [lab["name"] for lab in info["labels"]] == labels.names
        assert (
            info["backend"] == "torch"
            and info["name"] == "unet_small"
            and info["input_size"] == [64, 64]
        )
        rgb = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
        r = httpx.post(
            url + "/v1/predict", content=png(rgb), headers={"content-type": "image/png"}, timeout=60
        )
        assert r.status_code == 200
        mask = np.asarray(Image.open(io.BytesIO(r.content)))
        assert mask.shape == (30, 50) and mask.max() < labels.num_classes

        with connect(
            url.replace("http", "ws") + "/ws/viewer", max_size=None, open_timeout=30
        ) as ws:
            meta = json.loads(ws.recv())
            assert meta["scene"]["labels_match_model"] and "shapes" in meta["scene"]["description"]
            ws.send(json.dumps({"type": "frame", "infer": True}))
            msg = ws.recv(timeout=90)
            if isinstance(msg, str) and "EGL" in msg:
                pytest.skip(f"no EGL here: {msg}")
            header, parts = unpack_frame(msg)
    assert (header["width"], header["height"]) == (64, 48)
    gt = np.frombuffer(parts["gt"], np.uint8).reshape(48, 64)
    pred = np.frombuffer(parts["pred"], np.uint8).reshape(48, 64)
    assert 0 in gt and gt.max() >= 1  # background and at least one labelled object in the frame
    assert pred.max() < labels.num_classes and 0.0 <= header["miou"] <= 1.0
