"""The Sweet Home 3D furniture catalogs (Debian's sweethome3d-furniture) as an asset library.

A catalog (`*.sh3f`) is a zip of one folder per model (OBJ + MTL + textures) and a Java
properties file, `PluginFurnitureCatalog.properties`, describing model N with keys `name#N`,
`model#N`, `width#N` ... (the `_xx.properties` beside it are translations, ignored). Sizes are in
cm: Sweet Home 3D turns the OBJ by `modelRotation` (row-major R, v -> R @ v; y up), then scales
its bounding box to width (x) x height (y) x depth (z), per axis and whatever units the OBJ was
written in (most are cm already; some are mm or m, a few are stretched, e.g. banknotes 10x).
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
from pathlib import Path

from segsim.assets.cache import cache_dir, open_zip, unpack_member_files
from segsim.assets.library import AssetEntry
from segsim.errors import SegsimError

LIBRARY = "sweethome3d"
DEFAULT_DIR = Path("/usr/share/sweethome3d/furniture")
DIR_ENV = "SEGSIM_SH3D_DIR"
PROPERTIES = "PluginFurnitureCatalog.properties"
INSTALL = "sudo apt-get install sweethome3d-furniture"
# Licences that ask for no attribution; anything else (CC-BY, unknown) is credited to be safe.
_NO_ATTRIBUTION = ("public domain", "cc0", "cc-0", "cc 0", "creative commons zero")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def catalog_dir() -> Path:
    """Where the catalogs are: $SEGSIM_SH3D_DIR, else Debian's folder."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR).expanduser()


def missing_message() -> str | None:
    """Why the library is empty and how to fill it, or None when catalogs are there."""
    folder = catalog_dir()
    if folder.is_dir() and any(folder.glob("*.sh3f")):
        return None
    return (
        f"no Sweet Home 3D catalogs (*.sh3f) in {folder}: install them with `{INSTALL}`, "
        f"or point {DIR_ENV} at a folder of .sh3f files"
    )


def list_entries() -> list[AssetEntry]:
    """Every model of every catalog in `catalog_dir()` (none when the folder is missing)."""
    folder = catalog_dir()
    if not folder.is_dir():
        return []
    return [e for path in sorted(folder.glob("*.sh3f")) for e in read_catalog(path)]


def read_catalog(path: str | Path) -> list[AssetEntry]:
    """The models of one `.sh3f` catalog, in the order of their numbers."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _parse_catalog(path)  # open_zip names the problem
    # parsed once per process and file version: a generator asks for it once per class
    return list(_cached_catalog(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _cached_catalog(path: Path, mtime_ns: int, size: int) -> tuple[AssetEntry, ...]:
    return tuple(_parse_catalog(path))


def _parse_catalog(path: Path) -> list[AssetEntry]:
    with open_zip(path) as archive:
        try:
            raw = archive.read(PROPERTIES)
        except KeyError:
            raise SegsimError(
                f"{path} is not a Sweet Home 3D furniture catalog (no {PROPERTIES} in it)",
                f"remove it from {path.parent}, or reinstall the catalogs with `{INSTALL}`",
            ) from None
    props = parse_properties(raw.decode("latin-1"))  # Java reads .properties as ISO-8859-1
    catalog = props.get("name") or path.stem
    licence = props.get("license", "")
    numbers = sorted(int(m[1]) for k in props if (m := re.fullmatch(r"model#(\d+)", k)))
    return [_entry(path, catalog, licence, props, n) for n in numbers]


def _entry(path: Path, catalog: str, licence: str, props: dict, n: int) -> AssetEntry:
    def get(key: str, default: str = "") -> str:
        return props.get(f"{key}#{n}", default).strip()

    licence = get("license") or licence
    model = get("model")
    if not model.strip("/"):
        raise SegsimError(
            f"{path}: model#{n} is empty", "fix the catalog's properties or remove the catalog"
        )
    return AssetEntry(
        library=LIBRARY,
        catalog=catalog,
        id=get("id") or f"{catalog}#{n}",
        name=get("name") or get("id") or f"model {n}",
        category=get("category") or "Miscellaneous",
        size_cm=tuple(_size(path, props, f"{key}#{n}") for key in ("width", "depth", "height")),
        model_rotation=_rotation(path, get("modelRotation"), n),
        creator=get("creator"),
        licence=licence,
        attribution_required=needs_attribution(licence),
        tags=tuple(t.strip() for t in get("tags").split(",") if t.strip()),
        archive=path,
        member=model[1:] if model.startswith("/") else model,  # '/' = the zip's root
    )


def _size(path: Path, props: dict, key: str) -> float:
    try:
        value = float(props[key])
    except (KeyError, ValueError):
        value = float("nan")
    if not value > 0:
        raise SegsimError(
            f"{path}: {key} must be a positive size in cm, got {props.get(key)!r}",
            "fix the catalog's PluginFurnitureCatalog.properties or remove the catalog",
        )
    return value


def _rotation(path: Path, text: str, n: int):
    if not text:
        return None
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        values = []
    if len(values) != 9:
        raise SegsimError(
            f"{path}: modelRotation#{n} must be 9 numbers (a 3x3 matrix), got {text!r}",
            "fix the catalog's PluginFurnitureCatalog.properties or remove the catalog",
        )
    return tuple(tuple(values[i : i + 3]) for i in (0, 3, 6))


def needs_attribution(licence: str) -> bool:
    """False for public-domain / CC0 licences, True for CC-BY and anything not recognised."""
    text = licence.casefold()
    return not any(word in text for word in _NO_ATTRIBUTION)


def model_members(names: list[str], member: str) -> list[str]:
    """The files one model needs: its OBJ and everything in its folder (MTL, textures)."""
    folder = posixpath.dirname(member)
    if folder:
        found = [n for n in names if n.startswith(folder + "/") and not n.endswith("/")]
    else:  # a model at the zip's root: the root's files, less the catalog's own
        found = [n for n in names if "/" not in n and not n.endswith(".properties")]
    return sorted({member, *found})


def model_path(entry: AssetEntry) -> Path:
    """The model's OBJ, unpacked with its MTL and textures into the cache on first use."""
    archive = Path(entry.archive)
    stat = archive.stat()
    # a new version of the catalog (package upgrade) unpacks beside the old one, never over it
    version = hashlib.sha1(f"{archive.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", posixpath.splitext(posixpath.basename(entry.member))[0])
    folder = f"{stem}-{hashlib.sha1(entry.member.encode()).hexdigest()[:8]}"
    dest = cache_dir() / LIBRARY / f"{archive.stem}-{version.hexdigest()[:10]}" / folder
    obj = dest / entry.member
    if obj.is_file():
        return obj
    with open_zip(archive) as zf:
        names = zf.namelist()
    unpack_member_files(archive, model_members(names, entry.member), dest)
    return obj


def parse_properties(text: str) -> dict[str, str]:
    """A Java .properties text as a dict: comments, continuation lines and escapes as Java has
    them (`\\uXXXX`, `\\t`, ...); keys end at an unescaped '=', ':' or blank."""
    out: dict[str, str] = {}
    lines = iter(re.split(r"\r\n|\r|\n", text))
    for line in lines:
        line = line.lstrip(" \t\f")
        if not line or line[0] in "#!":
            continue
        while (len(line) - len(line.rstrip("\\"))) % 2:  # an odd number of trailing '\' joins
            line = line[:-1] + next(lines, "").lstrip(" \t\f")
        i = 0
        while i < len(line) and line[i] not in "=: \t\f":
            i += 2 if line[i] == "\\" else 1
        key, rest = line[:i], line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        out[_unescape(key)] = _unescape(rest)
    return out


def _unescape(text: str) -> str:
    def one(m: re.Match) -> str:
        code = m[1]
        if len(code) == 5:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.?)", one, text, flags=re.S)
