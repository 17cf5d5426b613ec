"""The live viewer's server side: one WebSocket per browser tab at /ws/viewer.

Protocol (kept tiny so the page needs no build step):
* on connect the server sends a JSON text message {"type": "meta", ...}: labels with colours and
  groups, frame size, model and scene descriptions;
* the client sends JSON {"type": "frame", "walk": [forward, right] metres, "look": [yaw, pitch]
  radians, "infer": bool, "new_scene": bool, "reset": bool, "seq": int}, with at most
  MAX_IN_FLIGHT (2) requests unanswered, so a slow machine queues nothing up, it just slows;
  answers come back in request order;
* the server answers with one binary message: a little-endian uint32 header length, the JSON
  header (seq, timings, mIoU, and where each part sits), then the parts back to back: the frame
  as JPEG, the ground-truth class ids and (when `infer`) the predicted ones, one raw byte a pixel.
  The browser colours the masks itself with the legend palette, so opacity, groups, background
  and GT/prediction switches need no round trip.
* a bad message gets {"type": "error", "error": ..., "fix": ...} and the connection stays open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from segsim.errors import SegsimError
from segsim.imaging import resize_image, resize_mask
from segsim.serve.camera_rig import CameraRig
from segsim.serve.encode import jpeg_bytes
from segsim.serve.scenes import label_remap
from segsim.serve.stats import frame_miou

router = APIRouter()
log = logging.getLogger(__name__)


class FrameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field("frame", pattern="^frame$")
    seq: int = 0
    walk: tuple[float, float] = (
        0.0,
        0.0,
    )  # metres forward, right; bounded so one message can't teleport
    look: tuple[float, float] = (0.0, 0.0)  # radians right, up
    infer: bool = False
    new_scene: bool = False
    reset: bool = False  # back to the scene's own camera

    def clamped(self) -> FrameRequest:
        walk = tuple(float(np.clip(v, -5.0, 5.0)) if np.isfinite(v) else 0.0 for v in self.walk)
        look = tuple(float(np.clip(v, -np.pi, np.pi)) if np.isfinite(v) else 0.0 for v in self.look)
        return self.model_copy(update={"walk": walk, "look": look})


def pack_frame(header: dict, parts: list[tuple[str, bytes, str]]) -> bytes:
    """uint32 header length + JSON header + parts; header["parts"][name] = {offset, length,
    type}."""
    layout, offset = {}, 0
    for name, data, kind in parts:
        layout[name] = {"offset": offset, "length": len(data), "type": kind}
        offset += len(data)
    head = json.dumps({**header, "parts": layout}).encode()
    return b"".join([struct.pack("<I", len(head)), head, *(data for _, data, _ in parts)])


def unpack_frame(message: bytes) -> tuple[dict, dict[str, bytes]]:
    """The inverse of pack_frame (used by tests and the benchmark client)."""
    (n,) = struct.unpack_from("<I", message, 0)
    header = json.loads(message[4 : 4 + n])
    body = message[4 + n :]
    parts = {
        name: body[p["offset"] : p["offset"] + p["length"]] for name, p in header["parts"].items()
    }
    return header, parts


class ViewerHub:
    """Shared by every viewer connection: the scene source, its render thread, the inference
    gate."""

    def __init__(self, source, gate, model_labels, model_info):
        self.source = source
        self.gate = gate
        self.model_labels = model_labels
        self.model_info = model_info
        self.remap = label_remap(source.labels, model_labels) if source is not None else None
        size = getattr(gate.predictor, "input_size", None) if gate is not None else None
        self.model_size = tuple(int(v) for v in size) if size else None  # (h, w)
        # One thread for every GL call: the renderer's context belongs to the thread that made it.
        self._gl = (
            ThreadPoolExecutor(1, thread_name_prefix="segsim-render")
            if source is not None
            else None
        )

    def meta(self) -> dict:
        src = self.source
        shared = set(src.labels.names) & set(self.model_labels.names) if src else set()
        return {
            "type": "meta",
            "model": self.model_info.model_dump(),
            "scene": None
            if src is None
            else {
                "description": src.description,
                "walk": getattr(src, "walk", "free"),
                "width": src.width,
                "height": src.height,
                "labels": src.labels.names,
                "labels_match_model": src.labels.names == self.model_labels.names,
                "shared_labels": len(shared),
            },
        }

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """(mask at the frame's size, model seconds). A frame larger than the model's input is
        shrunk to it first and the mask brought back with nearest neighbour: the viewer draws at
        its own size, sharp, while the model sees what it was trained on, at its own cost."""
        size = self.model_size
        if size is None or rgb.shape[0] * rgb.shape[1] <= size[0] * size[1]:
            return self.gate.predict(rgb)
        pred, seconds = self.gate.predict(resize_image(rgb, size))
        return resize_mask(pred, rgb.shape[:2]), seconds

    async def on_render_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._gl, fn, *args)

    def close(self) -> None:
        if self._gl is not None:
            try:
                self._gl.submit(self.source.close).result(timeout=10)
            except Exception as e:  # noqa: BLE001 -- shutting down: report, don't raise
                log.warning("releasing the renderer failed: %s", e)
            self._gl.shutdown(wait=False)
            self._gl = None


class ViewerSession:
    """One browser tab: which scene it is on and where its camera is."""

    def __init__(self, hub: ViewerHub):
        self.hub = hub
        self.index = 0
        self.base = None
        self.rig = None
        # (view key, ...) of the last frame, prediction and JPEG: reused while the camera stands
        # still
        self._frame_cache = self._pred_cache = self._jpeg_cache = None

    def _load(self, index: int) -> None:
        self.index = index
        self.base = self.hub.source.scene(index)
        self.rig = self._rig()

    def _rig(self) -> CameraRig:
        make = getattr(self.hub.source, "make_rig", None)
        if make is not None:  # e.g. walking on a street's ground among its buildings
            return make(self.base)
        return CameraRig(
            self.base.camera.world_to_camera, up=getattr(self.hub.source, "up", None), level=True
        )

    def _render(self, req: FrameRequest):
        """Runs on the render thread: move the camera, draw, return (rgb, gt in model ids, key).

        A camera that did not move (inference left on while nobody touches anything) reuses the
        last frame instead of drawing the same pixels again; `key` names the view for the caches."""
        if self.base is None or req.new_scene:
            self._load(self.index + 1 if self.base is not None else 0)
        elif req.reset:
            self.rig = self._rig()
        self.rig.look(*req.look)
        self.rig.walk(*req.walk)
        w2c = self.rig.world_to_camera()
        key = (self.index, w2c.tobytes())
        if self._frame_cache is not None and self._frame_cache[0] == key:
            return self._frame_cache[1], self._frame_cache[2], key
        camera = replace(self.base.camera, world_to_camera=w2c)
        frame = self.hub.source.render(replace(self.base, camera=camera))
        rgb = np.ascontiguousarray(frame.rgb)
        gt = self.hub.remap[np.asarray(frame.class_ids, np.uint8)]
        self._frame_cache = (key, rgb, gt)
        return rgb, gt, key

    async def frame(self, req: FrameRequest) -> bytes:
        t0 = time.perf_counter()
        rgb, gt, key = await self.hub.on_render_thread(self._render, req)
        t_render = time.perf_counter() - t0
        # model and packing in one worker-thread hop: each hop costs a few ms on a busy machine
        return await run_in_threadpool(self._infer_and_pack, req, key, rgb, gt, t_render, t0)

    def _infer_and_pack(self, req, key, rgb, gt, t_render, t0) -> bytes:
        pred, t_model = None, None
        if req.infer:
            cached = self._pred_cache
            if cached is not None and cached[0] == key:  # same pixels, same answer: skip the model
                pred, t_model = cached[1], cached[2]
            else:
                pred, t_model = self.hub.predict(rgb)
                self._pred_cache = (key, pred, t_model)
        return self._pack(req, key, rgb, gt, pred, t_render, t_model, t0)

    def _pack(self, req, key, rgb, gt, pred, t_render, t_model, t0) -> bytes:
        if self._jpeg_cache is None or self._jpeg_cache[0] != key:
            self._jpeg_cache = (key, jpeg_bytes(rgb))
        parts = [("image", self._jpeg_cache[1], "image/jpeg"), ("gt", gt.tobytes(), "u8")]
        if pred is not None:
            parts.append(("pred", pred.tobytes(), "u8"))
        header = {
            "type": "frame",
            "seq": req.seq,
            "width": int(rgb.shape[1]),
            "height": int(rgb.shape[0]),
            "scene_index": key[0],
            "camera_position": [
                round(float(v), 4)
                for v in np.linalg.inv(np.frombuffer(key[1]).reshape(4, 4))[:3, 3]
            ],
            "render_ms": t_render * 1000,
            "model_ms": None if t_model is None else t_model * 1000,
            "miou": None
            if pred is None
            else frame_miou(pred, gt, self.hub.model_labels.ignore_index),
            "server_ms": (time.perf_counter() - t0) * 1000,
        }
        return pack_frame(header, parts)


def _error_message(problem: str, fix: str | None) -> str:
    return json.dumps({"type": "error", "error": problem, "fix": fix})


MAX_IN_FLIGHT = 2  # frames a connection may have in the works: one rendering while one is predicted


@router.websocket("/ws/viewer")
async def viewer_socket(ws: WebSocket):
    """Reader and sender run side by side: while frame n is in the model, frame n+1 can already be
    rendering on the GL thread (the client keeps at most MAX_IN_FLIGHT requests outstanding).
    Answers leave in request order through one queue, so only the sender ever writes."""
    hub: ViewerHub = ws.app.state.viewer
    await ws.accept()
    await ws.send_text(json.dumps(hub.meta()))
    if hub.source is None:
        await ws.send_text(
            _error_message(
                "this server has no scene to render",
                "start it with `segsim serve --model M --scene <preset>`",
            )
        )
        await ws.close()
        return
    session = ViewerSession(hub)
    outbox: asyncio.Queue = asyncio.Queue()
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    sender = asyncio.create_task(_send_in_order(ws, outbox, slots))
    try:
        while True:
            text = await ws.receive_text()
            try:
                req = FrameRequest.model_validate_json(text).clamped()
            except ValidationError as e:
                err = e.errors()[0]
                where = ".".join(str(p) for p in err.get("loc", ())) or "message"
                outbox.put_nowait(
                    _error_message(
                        f"bad viewer message ({where}): {err['msg']}",
                        'send {"type": "frame", "walk": [f, r], "look": [yaw, pitch]}',
                    )
                )
                continue
            # Camera updates stay in request order: the render thread runs its jobs first in, first
            # out.
            await (
                slots.acquire()
            )  # a client that ignores the limit waits here, it cannot pile up work
            outbox.put_nowait(asyncio.create_task(session.frame(req)))
    except (WebSocketDisconnect, RuntimeError):  # RuntimeError: the client vanished mid-exchange
        pass
    finally:
        sender.cancel()
        while not outbox.empty():
            item = outbox.get_nowait()
            if isinstance(item, asyncio.Task):
                item.cancel()


async def _send_in_order(ws: WebSocket, outbox: asyncio.Queue, slots: asyncio.Semaphore) -> None:
    while True:
        item = await outbox.get()
        if isinstance(item, str):
            await ws.send_text(item)
            continue
        try:
            data = await item
        except SegsimError as e:  # e.g. EGL cannot start: tell the page, keep the socket
            data = _error_message(e.problem, e.fix)
        except Exception as e:
            log.exception("viewer frame failed")
            data = _error_message(f"internal error: {type(e).__name__}: {e}", "see the server log")
        finally:
            slots.release()
        await (ws.send_text(data) if isinstance(data, str) else ws.send_bytes(data))
