"""Request limits for the HTTP API, configurable from `segsim serve --max-bytes --max-pixels`."""

from __future__ import annotations

from dataclasses import dataclass

from segsim.errors import SegsimError


@dataclass(frozen=True)
class ServeLimits:
    max_bytes: int = 20 * 1024 * 1024  # upload size; larger bodies get 413 before decoding
    max_pixels: int = 4096 * 4096  # width*height, checked from the header before decoding
    inference_slots: int = 1  # predictions at once; 1 keeps torch from oversubscribing 2 cores

    def __post_init__(self):
        for name in ("max_bytes", "max_pixels", "inference_slots"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SegsimError(
                    f"{name} must be a positive integer, got {value!r}",
                    f"pass a value >= 1 for {name}",
                    param=name,
                )
