"""Asset libraries: what they hold (`AssetEntry`), picking models, and their credits.

One module per library (only `sweethome3d` for now), each with `list_entries()`,
`missing_message()` and `model_path(entry)`; they are imported by name on first use so that
they can build `AssetEntry` records from here without an import cycle.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from segsim.errors import SegsimError
from segsim.fileio import write_atomic

DEFAULT_LIBRARY = "sweethome3d"
_LIBRARIES = {"sweethome3d": "segsim.assets.sweethome3d"}


@dataclass(frozen=True)
class AssetEntry:
    """One model of a library. `size_cm` is (width, depth, height) in cm; `model_rotation` the
    3x3 row-major matrix R that stands the OBJ up (vertex v -> R @ v, i.e. `v @ R.T`; None = I)
    before its bounding box is scaled, per axis, to that size; `archive` and `member` say where
    its OBJ is (a zip, and the OBJ's name inside it)."""

    library: str
    catalog: str
    id: str
    name: str
    category: str
    size_cm: tuple[float, float, float]
    model_rotation: tuple[tuple[float, float, float], ...] | None
    creator: str
    licence: str
    attribution_required: bool
    tags: tuple[str, ...]
    archive: Path
    member: str


def _module(library: str):
    if library not in _LIBRARIES:
        raise SegsimError(
            f"library must be one of {', '.join(sorted(_LIBRARIES))}, not {library!r}",
            f"pass e.g. library={DEFAULT_LIBRARY!r}",
            param="library",
        )
    return importlib.import_module(_LIBRARIES[library])


def list_libraries() -> dict[str, list[AssetEntry]]:
    """{library name: its models}; a library whose files are not installed has an empty list
    (`missing_message(name)` says how to install them)."""
    return {name: _module(name).list_entries() for name in sorted(_LIBRARIES)}


def missing_message(library: str = DEFAULT_LIBRARY) -> str | None:
    """Why `library` is empty and how to install it, or None when it has models."""
    return _module(library).missing_message()


def model_path(entry: AssetEntry) -> Path:
    """The model's mesh file on disk (unpacked into the cache on first use)."""
    return _module(entry.library).model_path(entry)


def categories(entries: Iterable[AssetEntry]) -> dict[str, int]:
    """{category: number of models}, sorted by category."""
    counts = Counter(e.category for e in entries)
    return {c: counts[c] for c in sorted(counts, key=str.casefold)}


def _matches(value: str, pattern: str | None) -> bool:
    return pattern is None or fnmatch.fnmatchcase(value.casefold(), pattern.casefold())


def select_assets(
    library: str = DEFAULT_LIBRARY, category: str | None = None, name: str | None = None
) -> list[AssetEntry]:
    """The models of `library` whose category and name match the (case-insensitive, fnmatch)
    patterns, e.g. category="Living room", name="*chair*"; None matches everything."""
    entries = _module(library).list_entries()
    if not entries:
        raise SegsimError(
            f"the {library} asset library has no models",
            missing_message(library) or f"install the {library} library",
        )
    picked = [e for e in entries if _matches(e.category, category) and _matches(e.name, name)]
    if not picked:
        asked = " and ".join(
            f"{key}={value!r}" for key, value in (("category", category), ("name", name)) if value
        )
        found = ", ".join(f"{c} ({n})" for c, n in categories(entries).items())
        param = "category" if category is not None else "name"
        raise SegsimError(
            f"no {library} model matches {asked or 'empty patterns'}",
            f"{param} is a case-insensitive pattern such as 'Living room' or '*chair*'; the "
            f"categories are: {found}",
            param=param,
        )
    return picked


def credit_line(entry: AssetEntry) -> str:
    """One model's credit: name, catalog, creator, licence."""
    creator = entry.creator or "unknown creator"
    mark = "attribution required" if entry.attribution_required else "no attribution required"
    licence = " ".join(entry.licence.split()) or "licence not stated"
    return f"- {entry.name} ({entry.id}), {entry.catalog}, by {creator}: {licence} ({mark})"


def write_credits(path: str | Path, entries: Iterable[AssetEntry]) -> None:
    """Write a CREDITS.md listing every model used, one sorted line each."""
    lines = sorted({credit_line(e) for e in entries}, key=str.casefold)
    text = (
        "# Credits\n\n"
        "This work uses the 3D models below. Models under a Creative Commons Attribution "
        "(CC-BY) licence require this attribution (model, creator and licence) wherever the "
        "work or data made from it is shared; CC0 / public-domain models are listed as a "
        "courtesy.\n\n" + "".join(line + "\n" for line in lines)
    )
    write_atomic(path, text)
