"""FastAPI app factory. The predictor and the scene source come in as arguments (dependency
injection), so tests build the app around tiny fakes and `segsim serve` around the real ones."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from segsim.errors import SegsimError
from segsim.labels import LabelSet
from segsim.serve.inference import InferenceGate
from segsim.serve.limits import ServeLimits
from segsim.serve.schemas import LabelInfo, ModelInfo

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def describe_model(predictor, name: str | None = None) -> ModelInfo:
    labels: LabelSet = predictor.labels
    size = getattr(predictor, "input_size", None)
    return ModelInfo(
        name=name or getattr(predictor, "name", None) or type(predictor).__name__,
        backend=str(getattr(predictor, "backend", "unknown")),
        input_size=[int(s) for s in size] if size is not None else None,
        num_classes=labels.num_classes,
        ignore_index=labels.ignore_index,
        labels=[LabelInfo(**lab.to_dict()) for lab in labels.labels],
        groups=labels.groups(),
    )


def create_app(
    predictor,
    scene_source=None,
    limits: ServeLimits | None = None,
    *,
    model_name: str | None = None,
) -> FastAPI:
    """predictor: has .labels, .input_size, .backend, .predict(rgb) -> HxW uint8.
    scene_source: a segsim.serve.scenes.SceneSource for the live viewer, or None (viewer off)."""
    from segsim.serve.api import router
    from segsim.serve.viewer import ViewerHub
    from segsim.serve.viewer import router as viewer_router

    limits = limits or ServeLimits()
    hub_holder: list = []

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for hub in hub_holder:  # release the GL context and its thread when the server stops
            hub.close()

    # docs_url=None: the stock /docs page loads Swagger UI from a CDN, which an offline machine
    # cannot reach; _mount_offline_docs serves the copy that the swagger-ui-bundle package ships.
    app = FastAPI(
        title="segsim",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,
        description="Semantic segmentation of images, and a live 3D viewer at `/`.",
    )
    app.state.limits = limits
    app.state.labels = predictor.labels
    app.state.model_info = describe_model(predictor, model_name)
    app.state.gate = InferenceGate(predictor, limits.inference_slots)
    app.state.scene_source = scene_source
    app.state.viewer = ViewerHub(
        scene_source, app.state.gate, predictor.labels, app.state.model_info
    )
    hub_holder.append(app.state.viewer)
    _install_error_handlers(app)
    app.include_router(router)
    app.include_router(viewer_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _mount_offline_docs(app)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _mount_offline_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="segsim API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _error(status: int, problem: str, fix: str | None) -> JSONResponse:
    return JSONResponse({"error": problem, "fix": fix}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SegsimError)
    async def on_segsim_error(request: Request, exc: SegsimError):
        return _error(exc.status_code, exc.problem, exc.fix)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = " ".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        problem = (
            f"bad value for {where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        )
        return _error(422, problem, "see /docs for the allowed values")

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception):
        # A bug, not a user mistake: still answer in the API's JSON shape, and log the traceback.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(
            500,
            f"internal error: {type(exc).__name__}",
            "this is a bug in segsim or the model; the server log has the traceback",
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        fix = {404: "see /docs for the endpoints", 405: "see /docs for the allowed methods"}.get(
            exc.status_code
        )
        response = _error(exc.status_code, str(exc.detail), fix)
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("segsim")
    except Exception:  # noqa: BLE001 -- running from a source tree without metadata
        return "0"
