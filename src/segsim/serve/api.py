"""The HTTP API: /health, /v1/model, /v1/predict.

/v1/predict reads the body by hand rather than through a FastAPI File() parameter, so one route
accepts both a multipart upload and a raw image body; the accepted request bodies are written
into the OpenAPI schema explicitly (openapi_extra) so /docs and schemathesis see both.
"""

from __future__ import annotations

import base64
import enum
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from segsim.dataset import png
from segsim.errors import SegsimError
from segsim.infer.overlay import overlay
from segsim.serve.decode import SEND_IMAGE, check_size, decode_image
from segsim.serve.schemas import ErrorBody, Health, ModelInfo, PredictJSON
from segsim.serve.stats import class_fractions

RAW_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "application/octet-stream",
)
MULTIPART_SLACK = 64 * 1024  # multipart boundaries and headers on top of the file itself


class OutputFormat(str, enum.Enum):
    png = "png"
    json = "json"
    overlay = "overlay"


_ERRORS = {
    code: {"model": ErrorBody, "description": why}
    for code, why in [
        (400, "undecodable image, empty body or malformed multipart"),
        (413, "image too large (bytes or pixels)"),
        (415, "unsupported content type"),
        (422, "bad query parameter"),
    ]
}

_BINARY = {"type": "string", "format": "binary"}
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "description": "an image: multipart field `file`, "
        "or the raw bytes with an image content type",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {"file": _BINARY}}
            },
            **{
                t: {"schema": _BINARY}
                for t in ("image/png", "image/jpeg", "application/octet-stream")
            },
        },
    },
}

router = APIRouter()


@router.get("/health", response_model=Health, summary="Liveness and what is loaded")
def health(request: Request) -> Health:
    state = request.app.state
    return Health(status="ok", model=state.model_info.name, viewer=state.scene_source is not None)


@router.get(
    "/v1/model", response_model=ModelInfo, summary="Label set, input size and backend of the model"
)
def model_info(request: Request) -> ModelInfo:
    return request.app.state.model_info


@router.post(
    "/v1/predict",
    summary="Segment an image",
    description="Returns, by `format`: `png` an index mask the size of the input (one class id per "
    "pixel), `json` the mask as base64 PNG with per-class pixel fractions, `overlay` the "
    "image with the colour mask blended in at `alpha`.",
    response_class=Response,
    responses={
        200: {
            "model": PredictJSON,
            "content": {"image/png": {"schema": _BINARY}},
            "description": "the mask or the overlay (PNG), or the JSON summary",
        },
        **_ERRORS,
    },
    openapi_extra=_PREDICT_BODY,
)
async def predict(
    request: Request,
    format: Annotated[OutputFormat, Query(description="png | json | overlay")] = OutputFormat.png,
    alpha: Annotated[
        float, Query(ge=0.0, le=1.0, description="overlay opacity, for format=overlay")
    ] = 0.5,
) -> Response:
    t0 = time.perf_counter()
    state = request.app.state
    data = await read_upload(request, state.limits)
    # Decoding, the model and encoding all run in worker threads: the event loop stays free.
    rgb = await run_in_threadpool(decode_image, data, state.limits)
    mask, seconds = await run_in_threadpool(state.gate.predict, rgb)
    labels = state.labels
    if format is OutputFormat.png:
        body = await run_in_threadpool(png.encode, mask)
        return Response(body, media_type="image/png", headers=_timing(seconds))
    if format is OutputFormat.overlay:
        body = await run_in_threadpool(lambda: png.encode(overlay(rgb, mask, labels, alpha)))
        return Response(body, media_type="image/png", headers=_timing(seconds))
    mask_png = await run_in_threadpool(png.encode, mask)
    result = PredictJSON(
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        mask_png_base64=base64.b64encode(mask_png).decode("ascii"),
        classes=class_fractions(mask, labels),
        latency_ms=seconds * 1000,
        total_ms=(time.perf_counter() - t0) * 1000,
        backend=state.model_info.backend,
    )
    return Response(
        result.model_dump_json(), media_type="application/json", headers=_timing(seconds)
    )


def _timing(seconds: float) -> dict:
    return {"X-Model-Latency-Ms": f"{seconds * 1000:.2f}"}


async def read_upload(request: Request, limits) -> bytes:
    """The image bytes from a multipart field `file` or a raw body, within the byte limit."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes + MULTIPART_SLACK:
        check_size(int(declared), limits)  # refuse before reading a byte
    if ctype == "multipart/form-data":
        return await _read_multipart(request, limits)
    if ctype in RAW_TYPES:
        return await _read_raw(request, limits)
    raise SegsimError(
        f"unsupported content type {ctype or '(none)'!r}",
        "send multipart/form-data with field 'file', or the raw image with "
        "Content-Type image/png, image/jpeg or application/octet-stream",
        status_code=415,
    )


async def _read_raw(request: Request, limits) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_bytes:  # stop reading a body that lied about (or omitted) its length
            check_size(size, limits)
        chunks.append(chunk)
    data = b"".join(chunks)
    check_size(len(data), limits)
    return data


async def _read_multipart(request: Request, limits) -> bytes:
    try:
        form = await request.form(max_files=1, max_fields=8)
    except SegsimError:
        raise
    except Exception as e:  # starlette's MultiPartException and parser errors: the client's doing
        raise SegsimError(f"malformed multipart body: {e}", SEND_IMAGE, status_code=400) from e
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise SegsimError(
                "the multipart body has no file field named 'file'",
                "send the image as multipart field 'file' (curl -F file=@image.png)",
            )
        data = await upload.read(limits.max_bytes + 1)
    finally:
        await form.close()
    check_size(len(data), limits)
    return data
