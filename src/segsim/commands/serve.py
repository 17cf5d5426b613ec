"""CLI: segsim serve -- the HTTP API and the live 3D viewer on one uvicorn server."""

from __future__ import annotations

import typer

from segsim.commands.app import app


@app.command()
def serve(
    model: str = typer.Option(
        ..., "--model", "-m", help="A .ckpt, a run folder (its best.ckpt) or an .onnx."
    ),
    host: str = typer.Option(
        "127.0.0.1", help="Interface to listen on (0.0.0.0 exposes it to the network)."
    ),
    port: int = typer.Option(8000, help="TCP port."),
    scene: str | None = typer.Option(
        None, help="Scene preset for the viewer; default: the model's training preset, else shapes."
    ),
    seed: int = typer.Option(
        3, help="Seed of the viewer's scenes (N in the viewer steps through them)."
    ),
    view_size: str | None = typer.Option(
        None,
        help="Viewer frame size, 512 or WxH; default: the model's aspect, "
        "at least 512 on the longer side (the model runs at its own input size).",
    ),
    max_bytes: int = typer.Option(
        20 * 1024 * 1024, help="Largest upload in bytes (bigger gets HTTP 413)."
    ),
    max_pixels: int = typer.Option(
        4096 * 4096, help="Largest image in pixels, width*height (bigger gets HTTP 413)."
    ),
    inference_slots: int = typer.Option(
        1, help="Predictions run at once; 1 suits a CPU, the model already uses every core."
    ),
    threads: int | None = typer.Option(
        None, help="torch intra-op threads (default: torch's own choice)."
    ),
) -> None:
    """Serve the model over HTTP (/v1/predict, docs at /docs) with a live 3D viewer at /."""
    from segsim.serve.limits import ServeLimits
    from segsim.serve.server import serve_model

    limits = ServeLimits(
        max_bytes=max_bytes, max_pixels=max_pixels, inference_slots=inference_slots
    )
    serve_model(model, host, port, scene, seed, view_size, limits, threads, echo=typer.echo)
