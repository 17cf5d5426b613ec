"""Test doubles for the serving tests: a tiny predictor and a tiny numpy ray caster standing in
for the trained model and the GL renderer, so the API and the viewer protocol are tested without
torch weights or an EGL context. `make_app` is a uvicorn factory for tests that need a real server
(`uvicorn --factory serve_fakes:make_app`), configured through SEGSIM_FAKE_* environment variables.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from segsim.labels import LabelSet
from segsim.scene.spec import Camera, Scene

LABELS = LabelSet.from_names(["background", "redball", "greenball"], ["background", "red", "green"])
SKY = (60, 90, 200)
BALLS = [  # centre, radius, class id, colour
    (np.array([-0.8, 0.0, 0.5]), 0.5, 1, (220, 40, 40)),
    (np.array([0.9, 0.6, 0.6]), 0.6, 2, (40, 200, 40)),
]


def expected_mask(rgb: np.ndarray) -> np.ndarray:
    """What FakePredictor must answer, written out separately so tests compare against it."""
    r, g = rgb[..., 0].astype(int), rgb[..., 1].astype(int)
    out = np.zeros(rgb.shape[:2], np.uint8)
    out[(r >= 128) & (g < 128)] = 1
    out[(g >= 150) & (r < 128)] = 2
    return out


class FakePredictor:
    """Classifies pixels by colour thresholds; counts how many predictions overlap in time.
    The green threshold misses the shaded side of the green ball, so it is a plausibly
    imperfect model: prediction and ground truth differ and the frame mIoU is below 1."""

    backend = "fake"
    name = "fake-threshold"

    def __init__(self, delay: float = 0.0):
        self.labels = LABELS
        self.input_size = (64, 64)
        self.delay = delay
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        if os.environ.get("SEGSIM_FAKE_BROKEN"):  # lets a test prove the 5xx check can fail
            raise RuntimeError("fake model failure")
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            r, g = rgb[..., 0], rgb[..., 1]
            return ((r >= 128) & (g < 128)).astype(np.uint8) + 2 * ((g >= 150) & (r < 128)).astype(
                np.uint8
            )
        finally:
            with self._lock:
                self.active -= 1


def look_at(eye, target, up=(0, 0, 1)) -> np.ndarray:
    """OpenCV world_to_camera looking from eye at target, z-up world."""
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([x, y, z], axis=1)
    c2w[:3, 3] = eye
    return np.linalg.inv(c2w)


class FakeSceneSource:
    """Two balls on a checkered floor under a blue sky, ray cast in numpy; scene i shifts the
    camera so a new scene looks different."""

    up = (0.0, 0.0, 1.0)

    def __init__(self, width: int = 64, height: int = 48):
        self.labels = LABELS
        self.width, self.height = width, height
        self.description = f"fake balls {width}x{height}"
        self.renders = 0
        self.closed = False

    def scene(self, index: int) -> Scene:
        f = 0.9 * self.width
        K = np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1.0]])
        eye = (0.6 * index, -4.0, 1.5)
        cam = Camera(
            K=K, world_to_camera=look_at(eye, (0, 0, 0.5)), width=self.width, height=self.height
        )
        return Scene(camera=cam, objects=[], lights=[])

    def render(self, scene: Scene):
        self.renders += 1
        cam = scene.camera
        c2w = np.linalg.inv(cam.world_to_camera)
        v, u = np.mgrid[0 : cam.height, 0 : cam.width] + 0.5
        d = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(cam.K).T @ c2w[:3, :3].T
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        o = c2w[:3, 3]
        t_best = np.full(d.shape[:2], np.inf)
        rgb = np.empty(d.shape[:2] + (3,), np.uint8)
        rgb[:] = SKY
        ids = np.zeros(d.shape[:2], np.uint8)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -o[2] / d[..., 2]
        floor = (t > 0) & np.isfinite(t)
        hit = o + np.where(floor, t, 0)[..., None] * d
        checker = (np.floor(hit[..., 0]) + np.floor(hit[..., 1])) % 2 == 0
        rgb[floor] = np.where(checker[floor, None], 110, 70).astype(np.uint8)
        t_best[floor] = t[floor]
        for centre, radius, cid, colour in BALLS:
            oc = o - centre
            b = d @ oc
            disc = b * b - (oc @ oc - radius * radius)
            with np.errstate(invalid="ignore"):
                t = -b - np.sqrt(disc)
            near = (disc > 0) & (t > 0) & (t < t_best)
            normal = (o + t[..., None] * d - centre) / radius
            shade = 0.65 + 0.35 * np.clip(normal @ np.array([0.3, -0.5, 0.8]), 0, 1)
            rgb[near] = (np.array(colour) * shade[near, None]).astype(np.uint8)
            ids[near] = cid
            t_best[near] = t[near]
        return SimpleNamespace(rgb=rgb, class_ids=ids)

    def close(self) -> None:
        self.closed = True


def make_app():
    from segsim.serve.app import create_app
    from segsim.serve.limits import ServeLimits

    env = os.environ
    limits = ServeLimits(
        max_bytes=int(env.get("SEGSIM_FAKE_MAX_BYTES", 2_000_000)),
        max_pixels=int(env.get("SEGSIM_FAKE_MAX_PIXELS", 1_000_000)),
    )
    w, h = (int(v) for v in env.get("SEGSIM_FAKE_SIZE", "160x120").split("x"))
    return create_app(
        FakePredictor(delay=float(env.get("SEGSIM_FAKE_DELAY", 0))), FakeSceneSource(w, h), limits
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(args: list[str] | None = None, env: dict | None = None, timeout: float = 60.0):
    """Run uvicorn in a subprocess on 127.0.0.1 and yield its base URL.

    By default it serves the fake app; pass `args` (a full command) to serve something else,
    with `{port}` in it replaced by a free port."""
    import httpx

    port = free_port()
    here = Path(__file__).resolve().parent
    cmd = (
        [a.replace("{port}", str(port)) for a in args]
        if args
        else [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "serve_fakes:make_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    )
    full_env = {
        **os.environ,
        "PYTHONPATH": f"{here}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        **(env or {}),
    }
    proc = subprocess.Popen(
        cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{proc.stdout.read()}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not come up in time")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
