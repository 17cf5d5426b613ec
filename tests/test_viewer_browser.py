"""The viewer in a real browser: Debian chromium driven by Playwright opens the page served by a
real uvicorn subprocess, presses keys and checks that the canvas pixels and the HUD change.

By default the server runs the fake scene and fake model (tests/serve_fakes.py). With
SEGSIM_VIEWER_MODEL=<ckpt|onnx> it runs `segsim serve --model ...` with the real renderer and
model instead, and saves the screenshot the README shows to docs/viewer.png.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serve_fakes import expected_mask, live_server

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[1]

CANVAS_HASH = """() => {
  const c = document.getElementById('view');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) >>> 0;
  return h;
}"""


def server():
    model = os.environ.get("SEGSIM_VIEWER_MODEL")
    if model:
        cmd = [
            sys.executable,
            "-m",
            "segsim",
            "serve",
            "--model",
            model,
            "--port",
            "{port}",
            "--view-size",
            "256",
        ]
        return live_server(cmd, timeout=180)
    return live_server(env={"SEGSIM_FAKE_SIZE": "160x120"})


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    with server() as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 960, "height": 640})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(url)
        pg.wait_for_function(
            "() => window.segsimViewer && window.segsimViewer.image !== null", timeout=60000
        )
        pg.errors = errors
        yield pg
        browser.close()
    assert not errors, errors


def canvas(pg) -> int:
    return pg.evaluate(CANVAS_HASH)


def hud(pg, name: str) -> str:
    return pg.text_content(f"#hud-{name}").strip()


def settle(pg, frames: int = 3) -> None:
    """Wait until `frames` more frames have arrived (inference on) or a moment passed (idle)."""
    start = pg.evaluate("() => window.segsimViewer.received")
    if pg.evaluate("() => window.segsimViewer.continuous"):
        pg.wait_for_function(
            f"() => window.segsimViewer.received >= {start + frames}", timeout=60000
        )
    pg.wait_for_timeout(150)


def test_keys_change_the_canvas_and_the_hud(page):
    pg = page
    assert hud(pg, "infer") == "off" and hud(pg, "mode") == "prediction"
    legend = pg.locator("#legend li.label").all_text_contents()
    names = pg.evaluate("() => window.segsimViewer.labels.map(l => l.name)")
    assert legend == names and len(names) >= 2
    # the fake scene walks free; a street (a real model trained on it) walks on the ground
    assert hud(pg, "walk") in (
        ("free", "on the ground") if os.environ.get("SEGSIM_VIEWER_MODEL") else ("free",)
    )
    start = canvas(pg)
    pos0 = pg.evaluate("() => window.segsimViewer.lastHeader.camera_position")

    # W walks forward: the camera moves and the frame changes
    pg.keyboard.down("w")
    pg.wait_for_timeout(600)
    pg.keyboard.up("w")
    pg.wait_for_function("() => !window.segsimViewer.inFlight")
    settle(pg)
    pos1 = pg.evaluate("() => window.segsimViewer.lastHeader.camera_position")
    assert pos1 != pos0
    walked = canvas(pg)
    assert walked != start

    # dragging the mouse turns the camera without moving it
    box = pg.locator("#view").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    received = pg.evaluate("() => window.segsimViewer.received")
    pg.mouse.move(cx, cy)
    pg.mouse.down()
    pg.mouse.move(cx + 60, cy + 10, steps=6)
    pg.mouse.up()
    pg.wait_for_function(
        f"() => window.segsimViewer.received > {received} && !window.segsimViewer.inFlight"
    )
    settle(pg)
    assert pg.evaluate("() => window.segsimViewer.lastHeader.camera_position") == pos1
    turned = canvas(pg)
    assert turned != walked
    walked = turned

    # E infers once and holds that overlay; E again clears it
    pg.keyboard.press("e")
    pg.wait_for_function("() => window.segsimViewer.held !== null", timeout=60000)
    settle(pg)
    assert hud(pg, "infer").startswith("once")
    held = canvas(pg)
    assert held != walked
    pg.keyboard.press("e")
    settle(pg)
    assert hud(pg, "infer") == "off" and canvas(pg) == walked

    # Space: continuous inference; model latency, mIoU and frames/s appear, the overlay is drawn
    pg.keyboard.press(" ")
    pg.wait_for_function(
        "() => document.getElementById('hud-miou').textContent.trim() !== '–'", timeout=60000
    )
    settle(pg, 5)
    assert hud(pg, "infer") == "continuous"
    assert hud(pg, "model").endswith("ms")
    miou = float(hud(pg, "miou"))
    assert 0.0 <= miou <= 1.0
    predicted = canvas(pg)
    assert predicted != walked
    assert hud(pg, "fps") not in ("–", "idle", "0")

    # G: ground truth instead of the prediction
    pg.keyboard.press("g")
    settle(pg)
    assert hud(pg, "mode") == "ground truth"
    truth = canvas(pg)
    assert truth != predicted

    # 1 isolates the first label group, 0 shows every group again (same pixels as before)
    pg.keyboard.press("1")
    settle(pg)
    assert hud(pg, "group").startswith("1:")
    assert canvas(pg) != truth
    pg.keyboard.press("0")
    settle(pg)
    assert hud(pg, "group") == "all"
    assert canvas(pg) == truth

    # F1-F7 do what 1-7 do, and the browser's own F-key actions are prevented: F5 would reload
    pg.evaluate("() => { window.notReloaded = true; }")
    pg.keyboard.press("F2")
    settle(pg)
    assert hud(pg, "group").startswith("2:")
    group2 = canvas(pg)
    pg.keyboard.press("2")
    settle(pg)
    assert hud(pg, "group").startswith("2:") and canvas(pg) == group2
    pg.keyboard.press("F5")
    pg.wait_for_timeout(300)
    assert pg.evaluate("() => window.notReloaded === true")
    prevented = pg.evaluate(
        """() => ["F1", "F3", "F6", "F7"].map((code) => {
            const ev = new KeyboardEvent("keydown", { code, key: code, cancelable: true });
            window.dispatchEvent(ev);
            return ev.defaultPrevented;
        })"""
    )
    assert prevented == [True] * 4
    pg.keyboard.press("0")
    settle(pg)
    assert canvas(pg) == truth

    # + raises the overlay opacity
    pg.keyboard.press("+")
    settle(pg)
    assert hud(pg, "opacity") == "0.60"
    assert canvas(pg) != truth

    # Q hides the image, leaving the labels
    pg.keyboard.press("q")
    settle(pg)
    assert hud(pg, "bg") == "hidden"
    assert canvas(pg) != truth
    pg.keyboard.press("q")

    # N: a new scene
    scene = hud(pg, "scene")
    pg.keyboard.press("n")
    pg.wait_for_function("() => window.segsimViewer.lastHeader.scene_index === 1", timeout=60000)
    settle(pg)
    assert hud(pg, "scene") != scene and hud(pg, "scene").endswith("#1")

    # H shows the help
    assert pg.is_hidden("#help")
    pg.keyboard.press("h")
    assert pg.is_visible("#help")
    pg.keyboard.press("h")

    # back to a presentable state for the screenshot: prediction, default opacity
    pg.keyboard.press("g")
    pg.keyboard.press("-")
    settle(pg, 5)
    shot = (
        REPO / "docs" / "viewer.png"
        if os.environ.get("SEGSIM_VIEWER_MODEL")
        else Path("/tmp/segsim-viewer-test.png")
    )
    shot.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(shot))
    assert Image.open(shot).size == (960, 640)


def test_dropping_an_image_segments_it(page):
    if os.environ.get("SEGSIM_VIEWER_MODEL"):
        pytest.skip("the mask check needs the fake model")
    pg = page
    rgb = np.zeros((30, 50, 3), np.uint8)
    rgb[:, :20] = (220, 40, 40)  # red -> class 1
    rgb[:, 20:35] = (40, 200, 40)  # green -> class 2
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    pg.evaluate(
        """async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'drop.png', { type: 'image/png' }));
        window.dispatchEvent(new DragEvent('drop', """
        """{ dataTransfer: dt, bubbles: true, cancelable: true }));
    }""",
        base64.b64encode(buf.getvalue()).decode(),
    )
    pg.wait_for_function("() => window.segsimViewer.dropped !== null", timeout=30000)
    assert hud(pg, "mode") == "dropped image"
    mask = pg.evaluate("() => Array.from(window.segsimViewer.dropped.mask)")
    np.testing.assert_array_equal(np.array(mask, np.uint8).reshape(30, 50), expected_mask(rgb))
    assert pg.evaluate(
        "() => [document.getElementById('view').width, document.getElementById('view').height]"
    ) == [50, 30]
    pg.keyboard.press("Escape")
    pg.wait_for_function("() => window.segsimViewer.dropped === null")
