"""HTTP API and live 3D viewer. `create_app(predictor, scene_source, limits)` builds the FastAPI
app; `segsim serve` (segsim/commands/serve.py) wires in the real predictor and renderer."""

from segsim.serve.limits import ServeLimits

__all__ = ["ServeLimits", "create_app"]


def __getattr__(name):
    # Lazy so `import segsim.serve` does not pull FastAPI in for callers that only want limits.
    if name == "create_app":
        from segsim.serve.app import create_app

        return create_app
    raise AttributeError(name)
