"""Viewer WebSocket protocol and camera rig, with the fake scene source and fake predictor."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from segsim.serve.app import create_app
from segsim.serve.camera_rig import CameraRig
from segsim.serve.stats import frame_miou
from segsim.serve.viewer import pack_frame, unpack_frame
from serve_fakes import FakePredictor, FakeSceneSource, expected_mask, look_at


def miou_by_loops(pred, gt):
    """Independent mIoU: classes present in either, IoU from set sizes."""
    ious = []
    for c in sorted(set(np.unique(pred)) | set(np.unique(gt))):
        a, b = pred == c, gt == c
        ious.append((a & b).sum() / (a | b).sum())
    return float(np.mean(ious))


@pytest.fixture()
def viewer():
    source = FakeSceneSource(64, 48)
    predictor = FakePredictor()
    with TestClient(create_app(predictor, source)) as c, c.websocket_connect("/ws/viewer") as ws:
        meta = json.loads(ws.receive_text())
        yield ws, meta, source, predictor
    assert source.closed  # the app released the renderer on shutdown


def ask(ws, **req):
    ws.send_text(json.dumps({"type": "frame", **req}))
    msg = ws.receive()
    assert msg.get("bytes") is not None, msg
    return unpack_frame(msg["bytes"])


def test_meta_describes_model_and_scene(viewer):
    _, meta, _, _ = viewer
    assert meta["type"] == "meta"
    assert [lab["name"] for lab in meta["model"]["labels"]] == [
        "background",
        "redball",
        "greenball",
    ]
    assert meta["scene"]["width"] == 64 and meta["scene"]["height"] == 48
    assert meta["scene"]["labels_match_model"] is True


def test_frame_carries_image_and_ground_truth(viewer):
    ws = viewer[0]
    header, parts = ask(ws, seq=7)
    assert header["seq"] == 7 and (header["width"], header["height"]) == (64, 48)
    assert "pred" not in parts and header["miou"] is None and header["model_ms"] is None
    reference = FakeSceneSource(64, 48).render(FakeSceneSource(64, 48).scene(0))
    gt = np.frombuffer(parts["gt"], np.uint8).reshape(48, 64)
    np.testing.assert_array_equal(gt, reference.class_ids)
    image = np.asarray(Image.open(io.BytesIO(parts["image"])))
    assert image.shape == (48, 64, 3)
    assert np.abs(image.astype(int) - reference.rgb).mean() < 8  # JPEG, so close not equal


def test_inference_sends_prediction_and_its_miou(viewer):
    ws, _, _, predictor = viewer
    header, parts = ask(ws, infer=True)
    reference = FakeSceneSource(64, 48).render(FakeSceneSource(64, 48).scene(0))
    pred = np.frombuffer(parts["pred"], np.uint8).reshape(48, 64)
    gt = np.frombuffer(parts["gt"], np.uint8).reshape(48, 64)
    np.testing.assert_array_equal(pred, expected_mask(reference.rgb))
    assert header["miou"] == pytest.approx(miou_by_loops(pred, gt))
    assert header["model_ms"] >= 0 and predictor.calls == 1


def test_walking_moves_the_camera_and_changes_the_frame(viewer):
    ws, _, _, _ = viewer
    h0, p0 = ask(ws)
    h1, p1 = ask(ws, walk=[1.0, 0.0])
    step = np.subtract(h1["camera_position"], h0["camera_position"])
    # the fake camera looks from (0,-4,1.5) at (0,0,0.5): level forward is +y
    np.testing.assert_allclose(step, [0, 1, 0], atol=1e-3)
    assert p0["gt"] != p1["gt"]
    h2, _ = ask(ws, look=[0.3, 0.0], walk=[0.0, 0.0])
    assert h2["camera_position"] == h1["camera_position"]


def test_new_scene_and_reset(viewer):
    ws, _, _, _ = viewer
    h0, p0 = ask(ws)
    h1, p1 = ask(ws, new_scene=True)
    assert (h0["scene_index"], h1["scene_index"]) == (0, 1) and p0["gt"] != p1["gt"]
    ask(ws, walk=[2.0, 1.0])
    h3, _ = ask(ws, reset=True)
    assert h3["camera_position"] == h1["camera_position"]


@pytest.mark.parametrize(
    "bad",
    [
        '{"type": "frame", "walk": "north"}',
        "not json",
        '{"type": "dance"}',
        '{"type": "frame", "speed": 3}',
    ],
)
def test_bad_messages_get_an_error_and_the_socket_stays_open(viewer, bad):
    ws, _, _, _ = viewer
    ws.send_text(bad)
    err = json.loads(ws.receive_text())
    assert err["type"] == "error" and err["error"] and err["fix"]
    header, _ = ask(ws, seq=1)
    assert header["seq"] == 1


def test_without_a_scene_the_viewer_says_so():
    with (
        TestClient(create_app(FakePredictor(), None)) as c,
        c.websocket_connect("/ws/viewer") as ws,
    ):
        assert json.loads(ws.receive_text())["scene"] is None
        assert "no scene" in json.loads(ws.receive_text())["error"]


def test_index_page_is_served():
    with TestClient(create_app(FakePredictor(), None)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "viewer.js" in r.text
        assert c.get("/static/viewer.js").status_code == 200
        assert c.get("/static/viewer.css").status_code == 200


# --- pieces ----------------------------------------------------------------------------------
def test_pack_unpack_roundtrip():
    parts = [("a", b"123", "x"), ("b", b"", "y"), ("c", bytes(range(256)), "z")]
    header, got = unpack_frame(pack_frame({"seq": 3}, parts))
    assert header["seq"] == 3 and got == {n: d for n, d, _ in parts}


def test_frame_miou_matches_independent_count():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, (30, 40)).astype(np.uint8)
    pred = np.where(rng.random((30, 40)) < 0.7, gt, rng.integers(0, 5, (30, 40))).astype(np.uint8)
    assert frame_miou(pred, gt) == pytest.approx(miou_by_loops(pred, gt))
    assert frame_miou(gt, gt) == 1.0
    ignored = gt.copy()
    ignored[:, :20] = 255
    keep = ignored != 255
    assert frame_miou(pred, ignored) == pytest.approx(miou_by_loops(pred[keep], gt[keep]))
    assert frame_miou(pred, np.full_like(gt, 255)) is None


@pytest.mark.parametrize("up,eye", [((0, 0, 1), (1.0, -3.0, 2.0)), ((0, 1, 0), (1.0, 2.0, -3.0))])
def test_camera_rig_walks_level_and_turns_about_world_up(up, eye):
    w2c = look_at(eye, (0, 0, 0), up)
    rig = CameraRig(w2c)
    np.testing.assert_allclose(rig.up, up)
    np.testing.assert_allclose(rig.world_to_camera(), w2c, atol=1e-9)
    start, elev = rig.position.copy(), rig.elevation()
    rig.walk(2.0, 0.0)
    step = rig.position - start
    assert np.linalg.norm(step) == pytest.approx(2.0) and abs(step @ np.array(up)) < 1e-9
    assert step @ rig.forward > 0
    rig.look(0.7, 0.0)
    assert rig.elevation() == pytest.approx(elev)  # yaw keeps the view's tilt
    np.testing.assert_allclose(rig.rotation.T @ rig.rotation, np.eye(3), atol=1e-9)
    rig.look(0.0, 10.0)
    assert rig.elevation() == pytest.approx(np.deg2rad(85))  # pitch stops short of straight up
    before = rig.position.copy()
    rig.walk(0.0, 1.0)
    right = rig.rotation[:, 0]
    assert (rig.position - before) @ right == pytest.approx(1.0, abs=1e-6)


def test_camera_rig_levels_a_rolled_camera_and_keeps_its_view_direction():
    w2c = look_at((1.0, -3.0, 2.0), (0, 0, 0))
    roll = np.eye(4)
    c, s = np.cos(0.3), np.sin(0.3)
    roll[:2, :2] = [[c, -s], [s, c]]  # roll about the camera's z (viewing) axis
    rolled = roll @ w2c
    rig = CameraRig(rolled, up=(0, 0, 1), level=True)
    np.testing.assert_allclose(rig.world_to_camera(), w2c, atol=1e-9)
    assert abs(rig.rotation[:, 0] @ np.array([0, 0, 1.0])) < 1e-9  # camera x is level again


def test_preset_comes_from_the_checkpoint_or_its_dataset(tmp_path):
    from types import SimpleNamespace

    from segsim.serve.scenes import preset_from_model

    assert (
        preset_from_model(SimpleNamespace(info={"config": {"scene": {"preset": "rooms"}}}))
        == "rooms"
    )
    (tmp_path / "dataset.yaml").write_text("preset: shapes\nseed: 1\n")
    assert (
        preset_from_model(SimpleNamespace(info={"config": {"data": {"root": str(tmp_path)}}}))
        == "shapes"
    )
    assert (
        preset_from_model(
            SimpleNamespace(info={"config": {"data": {"root": str(tmp_path / "gone")}}})
        )
        is None
    )
    assert preset_from_model(SimpleNamespace(info={"config": {}})) is None
    assert preset_from_model(object()) is None


def test_a_still_camera_reuses_the_frame_and_the_prediction(viewer):
    ws, _, source, predictor = viewer
    h0, p0 = ask(ws, infer=True)
    renders, calls = source.renders, predictor.calls
    h1, p1 = ask(ws, infer=True)  # nothing moved
    assert (source.renders, predictor.calls) == (renders, calls)
    assert p1 == p0 and h1["miou"] == h0["miou"]
    _, p2 = ask(ws, infer=True, walk=[0.1, 0.0])  # moved: a new render and a new prediction
    assert (source.renders, predictor.calls) == (renders + 1, calls + 1)
    assert p2["gt"] != p0["gt"]


def test_a_renderer_that_cannot_start_is_reported_not_fatal():
    from segsim.errors import SegsimError

    class NoGL(FakeSceneSource):
        def render(self, scene):
            raise SegsimError("EGL could not start", "install libegl1 libegl-mesa0")

    with (
        TestClient(create_app(FakePredictor(), NoGL())) as c,
        c.websocket_connect("/ws/viewer") as ws,
    ):
        ws.receive_text()  # meta
        for _ in range(2):  # the socket survives and answers again
            ws.send_text(json.dumps({"type": "frame"}))
            err = json.loads(ws.receive_text())
            assert err == {
                "type": "error",
                "error": "EGL could not start",
                "fix": "install libegl1 libegl-mesa0",
            }
        assert c.get("/health").status_code == 200  # and the API is unaffected


def test_two_tabs_have_their_own_cameras():
    source = FakeSceneSource(64, 48)
    with (
        TestClient(create_app(FakePredictor(), source)) as c,
        c.websocket_connect("/ws/viewer") as a,
        c.websocket_connect("/ws/viewer") as b,
    ):
        a.receive_text()
        b.receive_text()
        ha, _ = ask(a)
        hb, _ = ask(b)
        assert ha["camera_position"] == hb["camera_position"]
        ha2, _ = ask(a, walk=[1.0, 0.0])
        hb2, _ = ask(b)
        assert ha2["camera_position"] != ha["camera_position"]
        assert hb2["camera_position"] == hb["camera_position"]


def test_default_view_size_keeps_the_model_aspect_and_is_at_least_512_on_the_longer_side():
    from segsim.serve.scenes import default_view_size

    assert default_view_size((96, 96)) == (512, 512)
    assert default_view_size((96, 192)) == (512, 256)  # input size is (h, w); views are (w, h)
    assert default_view_size((512, 1024)) == (1024, 512)  # already large: drawn as it is
    assert default_view_size(None) == (512, 512)


def test_a_view_larger_than_the_model_input_is_predicted_at_the_input_size_and_upsampled():
    source = FakeSceneSource(160, 120)
    predictor = FakePredictor()  # input_size (64, 64)
    seen = []
    original = predictor.predict
    predictor.predict = lambda rgb: (seen.append(rgb.shape), original(rgb))[1]
    with TestClient(create_app(predictor, source)) as c, c.websocket_connect("/ws/viewer") as ws:
        json.loads(ws.receive_text())
        header, parts = ask(ws, infer=True)
    assert seen == [(64, 64, 3)]  # the model saw its own input size
    pred = np.frombuffer(parts["pred"], np.uint8).reshape(120, 160)
    rgb = np.asarray(Image.open(io.BytesIO(parts["image"])))
    assert (header["width"], header["height"]) == (160, 120)
    assert set(np.unique(pred)) <= {0, 1, 2}  # nearest: no blended class ids
    # the upsampled answer matches the full-size one except along class boundaries
    assert (pred == expected_mask(rgb)).mean() > 0.9
