"""HTTP API: every endpoint, every bad-input path, concurrency. Fake predictor, real app."""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from segsim.serve.app import create_app
from segsim.serve.limits import ServeLimits
from serve_fakes import LABELS, FakePredictor, expected_mask


def make_client(**limits) -> tuple[TestClient, FakePredictor]:
    predictor = FakePredictor()
    return TestClient(create_app(predictor, None, ServeLimits(**limits))), predictor


@pytest.fixture(scope="module")
def client():
    with make_client()[0] as c:
        yield c


def random_image(h=23, w=37, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def encode(rgb: np.ndarray, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def assert_error(resp, status: int):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "fix"} and body["error"], body
    return body


# --- endpoints -------------------------------------------------------------------------------
def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model": "fake-threshold", "viewer": False}


def test_model_describes_labels_groups_and_size(client):
    info = client.get("/v1/model").json()
    assert info["labels"] == LABELS.to_dict()["labels"]
    assert info["groups"] == {"background": [0], "red": [1], "green": [2]}
    assert info["input_size"] == [64, 64] and info["backend"] == "fake" and info["num_classes"] == 3
    assert info["name"] == "fake-threshold" and info["ignore_index"] == 255


def test_predict_multipart_png_returns_index_mask_of_input_size(client):
    rgb = random_image()
    r = client.post("/v1/predict", files={"file": ("x.png", encode(rgb), "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    mask = decode(r.content)
    assert mask.shape == rgb.shape[:2] and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, expected_mask(rgb))


@pytest.mark.parametrize(
    "ctype,fmt", [("image/png", "PNG"), ("image/jpeg", "JPEG"), ("application/octet-stream", "PNG")]
)
def test_predict_raw_body(client, ctype, fmt):
    rgb = random_image(seed=1)
    data = encode(rgb, fmt)
    r = client.post("/v1/predict", content=data, headers={"content-type": ctype})
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(decode(r.content), expected_mask(decode(data)))  # JPEG is lossy


def test_predict_json(client):
    rgb = random_image(seed=2)
    r = client.post(
        "/v1/predict?format=json", content=encode(rgb), headers={"content-type": "image/png"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    expected = expected_mask(rgb)
    assert (body["width"], body["height"]) == (37, 23) and body["backend"] == "fake"
    np.testing.assert_array_equal(decode(base64.b64decode(body["mask_png_base64"])), expected)
    counts = np.bincount(expected.ravel(), minlength=3)
    assert [c["id"] for c in body["classes"]] == [i for i in range(3) if counts[i]]
    for c in body["classes"]:
        assert c["name"] == LABELS.names[c["id"]]
        assert c["pixels"] == counts[c["id"]]
        assert c["fraction"] == pytest.approx(counts[c["id"]] / expected.size)
    assert body["latency_ms"] >= 0 and body["total_ms"] >= body["latency_ms"]


def test_predict_overlay_blends_by_alpha(client):
    rgb = random_image(seed=3)
    data = encode(rgb)
    plain = decode(
        client.post(
            "/v1/predict?format=overlay&alpha=0",
            content=data,
            headers={"content-type": "image/png"},
        ).content
    )
    np.testing.assert_array_equal(plain, rgb)  # alpha 0: the image untouched
    half = decode(
        client.post(
            "/v1/predict?format=overlay&alpha=0.5",
            content=data,
            headers={"content-type": "image/png"},
        ).content
    )
    assert half.shape == rgb.shape
    # where a class was found the pixel moved towards that class's colour
    m = expected_mask(rgb)
    colour = LABELS.palette()[m].astype(int)
    for cid in (1, 2):
        sel = m == cid
        before = np.abs(rgb[sel].astype(int) - colour[sel]).sum()
        after = np.abs(half[sel].astype(int) - colour[sel]).sum()
        assert after < 0.75 * before


def test_docs_and_openapi(client):
    page = client.get("/docs")
    assert page.status_code == 200
    # Served offline: the page's script and style come from this server, not a CDN.
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/png", "image/jpeg", "application/octet-stream"} <= set(
        body
    )


# --- bad input -------------------------------------------------------------------------------
def test_undecodable_bytes(client):
    for ctype in ("image/png", "application/octet-stream"):
        r = client.post(
            "/v1/predict", content=b"this is not an image at all", headers={"content-type": ctype}
        )
        assert 400 <= r.status_code < 500
        assert_error(r, r.status_code)


def test_truncated_png(client):
    data = encode(random_image(64, 64))
    r = client.post(
        "/v1/predict", content=data[: len(data) // 2], headers={"content-type": "image/png"}
    )
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code)


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/json", "application/x-www-form-urlencoded", None]
)
def test_wrong_content_type_is_415(client, ctype):
    headers = {"content-type": ctype} if ctype else {}
    r = client.post("/v1/predict", content=encode(random_image()), headers=headers)
    body = assert_error(r, 415)
    assert "content type" in body["error"]


def test_empty_body(client):
    assert (
        "empty"
        in assert_error(
            client.post("/v1/predict", content=b"", headers={"content-type": "image/png"}), 400
        )["error"]
    )
    r = client.post("/v1/predict", files={"file": ("x.png", b"", "image/png")})
    assert "empty" in assert_error(r, 400)["error"]


def test_multipart_without_file_field(client):
    r = client.post("/v1/predict", files={"image": ("x.png", encode(random_image()), "image/png")})
    assert "'file'" in assert_error(r, 400)["error"]


def test_malformed_multipart(client):
    r = client.post(
        "/v1/predict",
        content=b"--nope\r\ngarbage",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code)


def test_too_many_bytes_is_413():
    data = encode(random_image(64, 64))
    with make_client(max_bytes=len(data) - 1)[0] as c:
        assert (
            "bytes"
            in assert_error(
                c.post("/v1/predict", content=data, headers={"content-type": "image/png"}), 413
            )["error"]
        )
        assert_error(c.post("/v1/predict", files={"file": ("x.png", data, "image/png")}), 413)

        def chunks():  # no Content-Length: the limit must hold while streaming
            for i in range(0, len(data), 1000):
                yield data[i : i + 1000]

        assert_error(
            c.post("/v1/predict", content=chunks(), headers={"content-type": "image/png"}), 413
        )


def test_too_many_pixels_is_413():
    with make_client(max_pixels=64 * 64 - 1)[0] as c:
        r = c.post(
            "/v1/predict",
            content=encode(np.zeros((64, 64, 3), np.uint8)),
            headers={"content-type": "image/png"},
        )
        assert "pixels" in assert_error(r, 413)["error"]
        ok = c.post(
            "/v1/predict",
            content=encode(np.zeros((63, 64, 3), np.uint8)),
            headers={"content-type": "image/png"},
        )
        assert ok.status_code == 200


@pytest.mark.parametrize("query", ["format=gif", "format=", "alpha=2", "alpha=-0.1", "alpha=abc"])
def test_bad_query_values_are_422(client, query):
    r = client.post(
        f"/v1/predict?{query}",
        content=encode(random_image()),
        headers={"content-type": "image/png"},
    )
    body = assert_error(r, 422)
    assert query.split("=")[0] in body["error"]


def test_unknown_route_and_method_are_json(client):
    assert_error(client.get("/v1/nothing"), 404)
    assert_error(client.get("/v1/predict"), 405)


def test_limits_reject_nonsense():
    from segsim.errors import SegsimError

    with pytest.raises(SegsimError):
        ServeLimits(max_bytes=0)


# --- concurrency -----------------------------------------------------------------------------
def test_sixteen_concurrent_clients_all_succeed_and_the_model_runs_one_at_a_time():
    predictor = FakePredictor(delay=0.01)
    app = create_app(predictor, None, ServeLimits(inference_slots=1))
    images = [random_image(20 + i, 30, seed=i) for i in range(16)]
    results: dict[int, list] = {}

    with TestClient(app) as c:

        def worker(i):
            out = []
            for _ in range(3):
                r = c.post(
                    "/v1/predict", content=encode(images[i]), headers={"content-type": "image/png"}
                )
                out.append((r.status_code, decode(r.content) if r.status_code == 200 else r.text))
            results[i] = out

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    assert len(results) == 16
    for i, out in results.items():
        for status, mask in out:
            assert status == 200, mask
            np.testing.assert_array_equal(
                mask, expected_mask(images[i])
            )  # no cross-talk between requests
    assert predictor.calls == 48
    assert predictor.max_active == 1  # the gate serialised the model


def test_a_crashing_model_still_answers_json(monkeypatch):
    monkeypatch.setenv("SEGSIM_FAKE_BROKEN", "1")
    with TestClient(create_app(FakePredictor(), None), raise_server_exceptions=False) as c:
        r = c.post(
            "/v1/predict", content=encode(random_image()), headers={"content-type": "image/png"}
        )
    body = assert_error(r, 500)
    assert "RuntimeError" in body["error"]


def test_a_decompression_bomb_is_refused_from_its_header():
    buf = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buf, "PNG")  # ~9 MB of pixels in a few KB
    data = buf.getvalue()
    assert len(data) < 100_000
    with make_client(max_pixels=1_000_000)[0] as c:
        r = c.post("/v1/predict", content=data, headers={"content-type": "image/png"})
    assert "3000x3000" in assert_error(r, 413)["error"]
