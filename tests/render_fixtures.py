"""Shared renderer cache for the render / scene / oracle tests.

Renderers are cached per size for the whole session: building one compiles a dozen shader
variants, which llvmpipe does slowly. Test modules wrap `get_renderer` in a fixture."""

from __future__ import annotations

_RENDERERS: dict = {}


def get_renderer(width: int, height: int):
    from segsim.render.gl import Renderer

    if (width, height) not in _RENDERERS:
        _RENDERERS[(width, height)] = Renderer(width, height)
    return _RENDERERS[(width, height)]
