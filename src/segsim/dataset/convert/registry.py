"""The registry of output formats and the one conversion entry: open the source, write into a
temporary folder beside `out`, rename it into place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segsim.errors import SegsimError


@dataclass(frozen=True)
class Converter:
    name: str
    description: str
    # write(index, tmp_out, progress, **options) -> summary dict; writes only under tmp_out
    write: Callable[..., dict]
    options: tuple[str, ...] = ()  # the keyword options it takes (others are refused)


CONVERTERS: dict[str, Converter] = {}


def register_converter(conv: Converter) -> Converter:
    if conv.name in CONVERTERS:
        raise ValueError(f"dataset format {conv.name!r} is registered twice")
    CONVERTERS[conv.name] = conv
    return conv


def check_format(fmt: str) -> Converter:
    if fmt not in CONVERTERS:
        raise SegsimError(
            f"unknown format {fmt!r} (formats: {', '.join(sorted(CONVERTERS))})",
            f"pass --format {' or '.join(sorted(CONVERTERS))}",
            param="format",
        )
    return CONVERTERS[fmt]


def check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SegsimError(f"out {out} is a file", "pass a folder that does not exist yet")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SegsimError(
            f"out {out} already exists and is not empty",
            "pass another --out, or --overwrite to replace it",
            param="out",
        )


def convert_dataset(
    source: str | Path,
    fmt: str,
    out: str | Path,
    layout: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
    **options: Any,
) -> dict:
    """Write the dataset at `source` as `fmt` into the folder `out`; returns a summary."""
    from segsim.dataset.reader import open_dataset

    conv = check_format(fmt)
    unknown = sorted(k for k, v in options.items() if v is not None and k not in conv.options)
    if unknown:
        raise SegsimError(
            f"{unknown[0]} does not apply to --format {fmt}",
            f"leave it out; {fmt} takes {_flags(conv.options) or 'no options'}",
            param=unknown[0],
        )
    out = Path(out).expanduser()
    source = Path(source).expanduser()
    check_out(out, overwrite)
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise SegsimError(f"out {out} is inside the source {source}", "write it elsewhere")
    index = open_dataset(source, layout=layout)
    options = {k: v for k, v in options.items() if v is not None}
    return write_folder(out, overwrite, lambda tmp: conv.write(index, tmp, progress, **options))


def write_folder(out: Path, overwrite: bool, fill: Callable[[Path], dict]) -> dict:
    """Run `fill(tmp)` on a fresh temp folder beside `out`, then move it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(out)
    tmp = out.parent / f".{out.name}.{os.getpid()}.convert.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        summary = fill(tmp)
        if out.exists():
            old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
            os.replace(out, old)  # the old one stays whole until the new one is in place
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary["out"] = str(out)
    return summary


def _sweep_stale(out: Path) -> None:
    """Temp folders of conversions to `out` that were killed (their process is gone)."""
    for old in out.parent.glob(f".{out.name}.*.tmp"):
        pid = old.name[len(out.name) + 2 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _flags(options: tuple[str, ...]) -> str:
    return ", ".join("--" + o.replace("_", "-") for o in options)
