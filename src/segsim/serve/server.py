"""Serve a model file: load it, build the viewer's scene source and the app, run uvicorn.

`segsim serve` and `segsim demo` both call `serve_model`; every argument is checked before the
model loads, so a typo fails in a blink.
"""

from __future__ import annotations

from collections.abc import Callable

from segsim.errors import SegsimError
from segsim.serve.limits import ServeLimits

MIN_VIEW, MAX_VIEW = 16, 2048


def parse_view_size(spec: str | None) -> tuple[int, int] | None:
    """'512' or '640x480' (width x height) -> (w, h); None -> decided from the model."""
    if spec is None:
        return None
    try:
        parts = [int(p) for p in spec.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(MIN_VIEW <= p <= MAX_VIEW for p in parts):
        raise SegsimError(
            f"view_size {spec!r} is not a size between {MIN_VIEW} and {MAX_VIEW}",
            "write it as 512 or 640x480 (width x height)",
            param="view_size",
        )
    return parts[0], parts[1]


def serve_model(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    scene: str | None = None,
    seed: int = 3,
    view_size: str | None = None,
    limits: ServeLimits | None = None,
    threads: int | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Blocks until the server stops. `scene`: the viewer's preset (default: the model's training
    preset, else shapes); `threads`: torch intra-op threads (default: torch's own choice)."""
    import uvicorn

    from segsim.infer.predictor import Predictor
    from segsim.serve.app import create_app
    from segsim.serve.scenes import PresetSceneSource, default_view_size, preset_from_model

    requested_size = parse_view_size(view_size)
    if not 1 <= port <= 65535:
        raise SegsimError(
            f"port {port} is out of range", "pass a port from 1 to 65535", param="port"
        )
    if threads is not None and threads < 1:
        raise SegsimError(
            f"threads {threads} must be at least 1",
            "pass 1 or more, or leave it out",
            param="threads",
        )
    if scene is not None:
        from segsim.scene.config import load_scene_config

        load_scene_config(scene)  # an unknown preset fails here, naming the ones there are
    if threads is not None:
        import torch

        torch.set_num_threads(threads)  # a choice for this process, asked for by the caller
    predictor = Predictor.load(model)
    width, height = requested_size or default_view_size(getattr(predictor, "input_size", None))
    preset = scene or preset_from_model(predictor) or "shapes"
    try:
        source = PresetSceneSource(preset, seed, width, height)
    except ImportError as e:  # a build without the scene/render parts: the API still works
        echo(f"warning: live viewer off, scene modules missing ({e})")
        source = None
    info = getattr(predictor, "info", None) or {}
    name = (info.get("model") or {}).get("name") if isinstance(info, dict) else None
    application = create_app(predictor, source, limits or ServeLimits(), model_name=name)
    echo(
        f"segsim: {name or 'model'} ({predictor.backend}) on http://{host}:{port}  "
        f"viewer: {source.description if source else 'off'}  docs: http://{host}:{port}/docs"
    )
    uvicorn.run(application, host=host, port=port, log_level="info")
