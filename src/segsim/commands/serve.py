"""CLI: segsim serve -- the HTTP API and the live 3D viewer on one uvicorn server."""

from __future__ import annotations

import typer

from segsim.cli import app
from segsim.errors import SegsimError


def _parse_view_size(spec: str | None) -> tuple[int, int] | None:
    """'256' or '320x240' (width x height) -> (w, h); None -> decided later from the model."""
    if spec is None:
        return None
    try:
        parts = [int(p) for p in spec.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(16 <= p <= 2048 for p in parts):
        raise SegsimError(f"--view-size {spec!r} is not a size between 16 and 2048",
                          "write it as 256 or 320x240 (width x height)")
    return parts[0], parts[1]


def _model_view_size(predictor) -> tuple[int, int]:
    size = getattr(predictor, "input_size", None)  # (h, w)
    return (int(size[1]), int(size[0])) if size else (256, 256)


@app.command()
def serve(
    model: str = typer.Option(..., "--model", "-m", help="A .ckpt, a run folder (its best.ckpt) or an .onnx."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, help="TCP port."),
    scene: str | None = typer.Option(None, help="Scene preset for the viewer; default: the model's training preset, else shapes."),
    seed: int = typer.Option(3, help="Seed of the viewer's scenes (N in the viewer steps through them)."),
    view_size: str | None = typer.Option(None, help="Viewer frame size, 256 or WxH; default: the model's input size."),
    max_bytes: int = typer.Option(20 * 1024 * 1024, help="Largest upload in bytes (bigger gets HTTP 413)."),
    max_pixels: int = typer.Option(4096 * 4096, help="Largest image in pixels, width*height (bigger gets HTTP 413)."),
    inference_slots: int = typer.Option(1, help="Predictions run at once; 1 suits a CPU, the model already uses every core."),
    threads: int | None = typer.Option(None, help="torch intra-op threads (default: torch's own choice)."),
) -> None:
    """Serve the model over HTTP (/v1/predict, docs at /docs) with a live 3D viewer at /."""
    import uvicorn

    from segsim.infer.predictor import Predictor
    from segsim.serve.app import create_app
    from segsim.serve.limits import ServeLimits
    from segsim.serve.scenes import PresetSceneSource, preset_from_model

    # every flag is checked before the model loads, so a typo fails in a blink
    requested_size = _parse_view_size(view_size)
    if not 1 <= port <= 65535:
        raise SegsimError(f"--port {port} is out of range", "use a port between 1 and 65535")
    if threads is not None and threads < 1:
        raise SegsimError(f"--threads {threads} must be at least 1", "pass --threads 1 or more, or leave it out")
    limits = ServeLimits(max_bytes=max_bytes, max_pixels=max_pixels, inference_slots=inference_slots)
    if scene is not None:
        from segsim.scene.config import load_scene_config

        load_scene_config(scene)  # an unknown preset fails here, naming the ones there are
    if threads is not None:
        import torch

        torch.set_num_threads(threads)  # a CLI choice for this process, not a library default
    predictor = Predictor.load(model)
    width, height = requested_size or _model_view_size(predictor)
    preset = scene or preset_from_model(predictor) or "shapes"
    try:
        source = PresetSceneSource(preset, seed, width, height)
    except ImportError as e:  # a build without the scene/render parts: the API still works
        typer.secho(f"warning: live viewer off, scene modules missing ({e})", fg="yellow", err=True)
        source = None
    info = getattr(predictor, "info", None) or {}
    name = (info.get("model") or {}).get("name") if isinstance(info, dict) else None
    application = create_app(predictor, source, limits, model_name=name)
    typer.echo(f"segsim: {name or 'model'} ({predictor.backend}) on http://{host}:{port}  "
               f"viewer: {source.description if source else 'off'}  docs: http://{host}:{port}/docs")
    uvicorn.run(application, host=host, port=port, log_level="info")
