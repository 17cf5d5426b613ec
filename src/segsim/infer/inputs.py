"""What `predict` reads and writes: the input images a spec names, and one output path per image
planned before anything is written, so a clash is refused up front."""

from __future__ import annotations

import glob as globlib
from pathlib import Path

from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES, list_images


def resolve_inputs(spec: str) -> list[Path]:
    """An image file, a folder (its images, not recursive) or a glob -> image paths, sorted."""
    path = Path(spec).expanduser()
    if path.is_dir():
        found = list_images(path)
        if not found:
            raise SegsimError(
                f"no images in folder {path} (looked for {', '.join(IMAGE_SUFFIXES)})",
                "point input at a folder of images, an image, or a glob like 'dir/*.png'",
                param="input",
            )
        return found
    if path.is_file():
        return [path]
    if globlib.has_magic(spec):
        # like a folder, a glob picks up images only, so 'dir/*' skips notes and masks' .json
        found = sorted(
            Path(p)
            for p in globlib.glob(str(Path(spec).expanduser()), recursive=True)
            if Path(p).is_file() and Path(p).suffix.lower() in IMAGE_SUFFIXES
        )
        if not found:
            raise SegsimError(
                f"no images match {spec!r}",
                "check the pattern (quote it so the shell leaves it alone)",
            )
        return found
    raise SegsimError(
        f"input not found: {spec}", "pass an image, a folder of images, or a glob like 'dir/*.png'"
    )


def plan_outputs(
    inputs: list[Path], output: Path, with_overlay: bool
) -> list[tuple[Path, Path | None]]:
    """(mask path, overlay path or None) per input, refusing plans where one file would be written
    twice (two inputs with one stem) or where a mask would overwrite an input image."""
    plan = [
        (output / f"{p.stem}.png", output / f"{p.stem}_overlay.png" if with_overlay else None)
        for p in inputs
    ]
    writers: dict[Path, Path] = {}
    sources = {p.resolve(): p for p in inputs}
    for src, files in zip(inputs, plan, strict=True):
        for f in files:
            if f is None:
                continue
            key = f.resolve()
            if key in writers:
                raise SegsimError(
                    f"{writers[key]} and {src} would both be written as {f}",
                    "rename one, or predict them into separate output folders",
                    param="output",
                )
            if key in sources:
                raise SegsimError(
                    f"writing {f} would overwrite the input image {sources[key]}",
                    "choose an output folder other than the input folder",
                    param="output",
                )
            writers[key] = src
    return plan
