"""Serving figures: /v1/predict latency (median, p95) and requests/s with 1 and 16 concurrent
clients, torch and ONNX Runtime, and the live viewer's frames/s end to end over the WebSocket.

Everything runs on loopback (127.0.0.1): `segsim serve` in a subprocess with a freshly initialized
real-time model (speed does not depend on the weights) written as a training-format checkpoint
and exported to ONNX, exactly as users' files load. The viewer client is a Python WebSocket client
speaking the page's protocol, with inference on, walking a little every frame so each frame is a
new render; it keeps 1 request in flight like the page does by default, or 2 like the page's
?inflight=2 (one frame rendering while the previous one is in the model).

    python bench/bench_serve.py                                   # the recorded figures
    # quick check:
    python bench/bench_serve.py --size 64 --requests 4 --per-client 1 --frames 6 --viewer-repeats 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row

ROOT = Path(__file__).resolve().parent.parent

REALTIME_MODEL = "lraspp_mobilenetv3"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(model: Path, size: int, threads: int):
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "segsim",
        "serve",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--view-size",
        str(size),
        "--threads",
        str(threads),
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_until_up(proc, log, url)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until_up(proc, log, url: str, timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"segsim serve exited:\n{log.read().decode(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"segsim serve did not start within {timeout:.0f} s")
        time.sleep(0.3)


def png_image(size: int) -> bytes:
    import numpy as np
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def predict_load(
    url: str, body: bytes, clients: int, per_client: int, warmup: int
) -> tuple[list[float], float]:
    """(latencies in ms, requests/s over the whole run) for `clients` threads of `per_client`
    requests."""
    import httpx

    def one_client(n: int) -> list[float]:
        out = []
        with httpx.Client(base_url=url, timeout=120) as c:
            for i in range(warmup + n):
                t0 = time.perf_counter()
                r = c.post("/v1/predict", content=body, headers={"content-type": "image/png"})
                dt = time.perf_counter() - t0
                if r.status_code != 200:
                    raise RuntimeError(f"/v1/predict answered {r.status_code}: {r.text[:200]}")
                if i >= warmup:
                    out.append(dt * 1000)
        return out

    one_client(0) if warmup else None
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one_client, [per_client] * clients))
    wall = time.perf_counter() - t0
    latencies = [v for r in results for v in r]
    return latencies, clients * (warmup + per_client) / wall


def viewer_fps(url: str, frames: int, in_flight: int, infer: bool) -> tuple[float, dict]:
    """frames/s over one run of `frames` frames, and the server's median per-frame timings."""
    from websockets.sync.client import connect

    from segsim.serve.viewer import unpack_frame

    ws_url = url.replace("http://", "ws://") + "/ws/viewer"
    with connect(ws_url, max_size=None, open_timeout=30) as ws:
        json.loads(ws.recv())  # meta
        sent, stamps, headers = 0, [], []

        def send():
            nonlocal sent
            ws.send(
                json.dumps(
                    {
                        "type": "frame",
                        "seq": sent,
                        "walk": [0.01, 0.0],
                        "look": [0.002, 0.0],
                        "infer": infer,
                    }
                )
            )
            sent += 1

        total = frames + 3  # 3 warm-up frames (first render creates the GL context)
        for _ in range(min(in_flight, total)):
            send()
        while len(headers) < total:
            msg = ws.recv(timeout=120)
            if isinstance(msg, str):
                raise RuntimeError(f"viewer error: {msg}")  # noqa: TRY004 -- a server answer, not a type bug
            header, _ = unpack_frame(msg)
            headers.append(header)
            stamps.append(time.perf_counter())
            if sent < total:
                send()
    # frames/s from the end of the warm-up to the last frame: with 2 in flight answers come in
    # bursts, so only a whole run gives a fair rate
    start, stamps, headers = stamps[2], stamps[3:], headers[3:]
    fps = len(stamps) / (stamps[-1] - start)
    timing = {
        k: statistics.median(h[k] for h in headers if h[k] is not None)
        for k in ("render_ms", "model_ms", "server_ms")
        if any(h[k] is not None for h in headers)
    }
    return fps, timing


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=REALTIME_MODEL, help="registry name of the model to serve")
    ap.add_argument("--size", type=int, default=256, help="image and viewer frame size (square)")
    ap.add_argument("--requests", type=int, default=40, help="timed requests for the single client")
    ap.add_argument(
        "--per-client", type=int, default=5, help="timed requests per client with 16 clients"
    )
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--frames", type=int, default=60, help="timed viewer frames per setting")
    ap.add_argument("--viewer-repeats", type=int, default=3, help="viewer runs per setting")
    ap.add_argument("--backends", nargs="*", default=["torch", "onnx"])
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads in the server")
    args = ap.parse_args()

    from bench.bench_infer import write_checkpoint
    from segsim.infer.export import export_onnx

    body = png_image(args.size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = write_checkpoint(Path(tmp) / f"{args.model}.ckpt", args.model, args.size)
        models = {"torch": ckpt}
        if "onnx" in args.backends:
            export_onnx(ckpt, Path(tmp) / f"{args.model}.onnx")
            models["onnx"] = Path(tmp) / f"{args.model}.onnx"
        for backend in args.backends:
            tag = f"{args.model} {backend} {args.size}x{args.size}"
            with server(models[backend], args.size, args.threads) as url:
                for clients, per_client in ((1, args.requests), (args.clients, args.per_client)):
                    lat, rps = predict_load(url, body, clients, per_client, warmup=2)
                    extra = {
                        "backend": backend,
                        "clients": clients,
                        "p95": p95(lat),
                        "size": args.size,
                    }
                    rows.append(
                        row(f"/v1/predict latency, {clients} client(s), {tag}", lat, "ms", **extra)
                    )
                    rows.append(
                        row(
                            f"/v1/predict throughput, {clients} client(s), {tag}",
                            [rps],
                            "requests/s",
                            **extra,
                        )
                    )
                    print(f"  p95 {p95(lat):.1f} ms with {clients} client(s)")
                for in_flight, infer in ((1, True), (2, True), (1, False)):
                    runs = [
                        viewer_fps(url, args.frames, in_flight, infer)
                        for _ in range(args.viewer_repeats)
                    ]
                    fps, timing = [r[0] for r in runs], runs[len(runs) // 2][1]
                    what = (
                        f"viewer frames/s, inference {'on' if infer else 'off'}, "
                        f"{in_flight} in flight, {tag}"
                    )
                    rows.append(
                        row(
                            what,
                            fps,
                            "frames/s",
                            backend=backend,
                            in_flight=in_flight,
                            infer=infer,
                            **{k: round(v, 2) for k, v in timing.items()},
                        )
                    )
                    print(
                        f"  server medians: {', '.join(f'{k} {v:.1f}' for k, v in timing.items())}"
                    )
    command = "python bench/bench_serve.py " + " ".join(sys.argv[1:])
    record(
        "serve",
        rows,
        command.strip(),
        notes=f"Loopback; `segsim serve --threads {args.threads}` in a subprocess; "
        f"a freshly initialized {args.model} at {args.size}x{args.size}; "
        "PNG uploads as raw bodies; p95 in each latency row's "
        "JSON. Viewer: Python WebSocket client, inference on, a small step every frame; the page "
        "keeps 1 frame in flight (2 with ?inflight=2). Target: >= 15 frames/s with inference on.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
