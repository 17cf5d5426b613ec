"""The `photos` library: freely licensed photographs for backgrounds, textures and cut-outs.

Sources (each optional, all offline):

* `backgrounds`: Debian's desktop-background packages under /usr/share/backgrounds (e.g.
  `mate-backgrounds`: nature photos, GPL-2+ / CC-BY-SA-4.0 per its copyright file),
  `$SEGSIM_BACKGROUNDS_DIR` overrides the folder;
* `sweethome3d`: the material textures (wood, fabric, stone, ...) inside the installed Sweet
  Home 3D furniture catalogs (`*.sh3f` zips), with each catalog's licence;
* `robosuite`: the tileable material photos robosuite ships (MIT), when it is installed;
* folders the user names (a scene config's `photos.dirs`, or `$SEGSIM_PHOTO_DIRS`).

Every photo is decoded once per machine, shrunk to at most MAX_SIDE and written as a PNG into
`$SEGSIM_CACHE/photos/`, with an index per source; a photo that will not decode is skipped
there with a warning naming it, so a render never meets a corrupt file. Renders take crops
(`crop_box`), not only whole photos. scikit-image's photographs are never a source: they are
the held-out set of bench/bench_crossdomain.py.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import zipfile
import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from segsim.assets.cache import cache_dir
from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES, list_images, read_image, write_atomic

log = logging.getLogger(__name__)

LIBRARY = "photos"
SOURCES = ("backgrounds", "sweethome3d", "robosuite")
BACKGROUNDS_DIR = Path("/usr/share/backgrounds")
BACKGROUNDS_ENV = "SEGSIM_BACKGROUNDS_DIR"
DIRS_ENV = "SEGSIM_PHOTO_DIRS"
MAX_SIDE = 1024  # a 256 px frame never needs more; the renderer caps textures here too
MIN_SIDE = 64  # smaller images (icons, 32 px swatches) carry too little of a photo's statistics
INDEX_VERSION = 2  # 2: a raw copy (.npy) beside each normalized PNG
INSTALL = "sudo apt-get install mate-backgrounds"


@dataclass(frozen=True)
class Photo:
    """One photo of the library: `path` is its normalized PNG in the cache, `origin` where it
    came from (a file, or `zip!member`)."""

    source: str
    name: str
    path: str
    origin: str
    licence: str
    attribution_required: bool
    width: int
    height: int


def backgrounds_dir() -> Path:
    return Path(os.environ.get(BACKGROUNDS_ENV) or BACKGROUNDS_DIR).expanduser()


def robosuite_dir() -> Path | None:
    spec = importlib.util.find_spec("robosuite")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models/assets/textures"
    return folder if folder.is_dir() else None


def env_dirs() -> list[str]:
    return [d for d in os.environ.get(DIRS_ENV, "").split(os.pathsep) if d]


# --- where each source's files are, with their licences -------------------------------------


def _copyright_licences(copyright_file: Path) -> list[tuple[str, str]]:
    """(Files pattern, License) pairs of a Debian machine-readable copyright file."""
    try:
        text = copyright_file.read_text(errors="replace")
    except OSError:
        return []
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*(.+?)(?=^\S|\Z)", stanza, re.M | re.S)
        licence = re.search(r"^License:\s*(\S.*)$", stanza, re.M)
        if files and licence:
            out += [(pattern, licence[1].strip()) for pattern in files[1].split()]
    return out


def _background_files() -> list[tuple[str, Path | _Member, str]]:
    """(origin, file, licence) for every desktop background; the licence from the copyright
    file of the package that owns the folder (`/usr/share/backgrounds/mate` -> mate-backgrounds)."""
    root = backgrounds_dir()
    if not root.is_dir():
        return []
    out = []
    for path in list_images(root, recursive=True):
        rel = path.relative_to(root)
        package = f"{rel.parts[0]}-backgrounds" if len(rel.parts) > 1 else "backgrounds"
        inner = "/".join(rel.parts[1:])
        licence = f"see /usr/share/doc/{package}/copyright"
        for pattern, name in _copyright_licences(Path("/usr/share/doc") / package / "copyright"):
            if fnmatch.fnmatchcase(inner, pattern) or pattern == "*":
                licence = f"{name} ({package})"  # later stanzas win, as in Debian's format
        out.append((str(path), path, licence))
    return out


def _sweethome3d_files() -> list[tuple[str, Path | _Member, str]]:
    """(zip!member, bytes, licence) for the textures inside the Sweet Home 3D catalogs."""
    from segsim.assets import sweethome3d
    from segsim.assets.cache import open_zip

    folder = sweethome3d.catalog_dir()
    if not folder.is_dir():
        return []
    out = []
    for archive in sorted(folder.glob("*.sh3f")):
        entries = sweethome3d.read_catalog(archive)
        # a texture belongs to the model whose folder holds it: its licence and creator
        owners = {e.member.rsplit("/", 1)[0]: e for e in entries if "/" in e.member}
        with open_zip(archive) as zf:
            props = sweethome3d.parse_properties(zf.read(sweethome3d.PROPERTIES).decode("latin-1"))
            catalog_licence = props.get("license") or f"licence of {archive.name}"
            for name in sorted(zf.namelist()):
                if not name.lower().endswith(IMAGE_SUFFIXES) or name.endswith("/"):
                    continue
                owner = owners.get(name.rsplit("/", 1)[0]) if "/" in name else None
                licence = (owner.licence if owner else "") or catalog_licence
                if owner and owner.creator:
                    licence = f"{' '.join(licence.split())}, by {owner.creator}"
                info = zf.getinfo(name)  # read only when the index is (re)built
                out.append((f"{archive}!{name}", _Member(archive, name, info.CRC), licence))
    return out


@dataclass(frozen=True)
class _Member:
    """A zip entry, read only when its photo is normalized."""

    archive: Path
    name: str
    crc: int

    def read(self) -> bytes:
        return _open_zip(self.archive).read(self.name)


@lru_cache(maxsize=4)
def _open_zip(archive: Path):
    # kept open while an index is built: one central-directory read per catalog, not per photo
    from segsim.assets.cache import open_zip

    return open_zip(archive)


def _folder_files(folder: Path, licence: str) -> list[tuple[str, Path | _Member, str]]:
    return [(str(p), p, licence) for p in list_images(folder, recursive=True)]


# --- the normalized copies and their index ---------------------------------------------------


def _signature(items: list[tuple[str, Path | bytes, str]]) -> str:
    h = hashlib.sha1(f"v{INDEX_VERSION}:{MAX_SIDE}:{MIN_SIDE}".encode())
    for origin, data, licence in items:
        if isinstance(data, Path):
            st = data.stat()
            h.update(f"{origin}:{st.st_size}:{st.st_mtime_ns}:{licence}\n".encode())
        else:  # a zip entry: its CRC stands for its bytes
            h.update(f"{origin}:{data.crc}:{licence}\n".encode())
    return h.hexdigest()[:12]


def _normalize(origin: str, data, dest: Path) -> tuple[int, int] | None:
    """Decode, shrink to MAX_SIDE and write a PNG; None (with a warning) when it will not
    decode, quietly None when it is too small to be worth a crop."""
    import cv2

    try:
        rgb = read_image(data.read() if isinstance(data, _Member) else Path(data), name=origin)
    except SegsimError as e:
        log.warning("photos: skipped %s: %s", origin, e.problem)
        return None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:  # a damaged catalog entry
        log.warning("photos: skipped %s: %s", origin, e)
        return None
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        return None
    k = MAX_SIDE / max(h, w)
    if k < 1:
        rgb = cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
    ok, png = cv2.imencode(
        ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    raw = io.BytesIO()
    np.save(raw, np.ascontiguousarray(rgb, np.uint8))
    write_atomic(dest.with_suffix(".npy"), raw.getvalue())
    write_atomic(dest, png.tobytes())  # last: the index lists a photo only once both exist
    return w, h


def photo_pixels(path: str) -> np.ndarray | None:
    """A normalized library photo's pixels, mapped from its raw copy (a frame crops photos at
    random, far more of them than a process keeps decoded: mapping costs no decoding, and the
    page cache is shared by the workers); None for any other image, or a damaged copy."""
    raw = Path(path).with_suffix(".npy")
    if raw.parent.parent != cache_dir() / LIBRARY or raw == Path(path) or not raw.is_file():
        return None
    try:
        rgb = np.load(raw, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return rgb if rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8 else None


def _build(source: str, key: str, items, attribution) -> list[Photo]:
    """The photos of one source, from its cached index when the files are unchanged."""
    folder = cache_dir() / LIBRARY / f"{key}-{_signature(items)}"
    index = folder / "index.json"
    if index.is_file():
        try:
            return [Photo(**p) for p in json.loads(index.read_text())]
        except (ValueError, TypeError):
            pass  # a damaged index is rebuilt
    import sys

    from segsim.progress import progress_bar

    photos = []
    # once per machine (a minute for the Sweet Home 3D textures on two cores): say so
    with progress_bar(sys.stderr.isatty(), f"photos: {key}", len(items), transient=True) as done:
        for origin, data, licence in items:
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(origin.split("!")[-1]).stem)[:40]
            dest = folder / f"{stem}-{hashlib.sha1(origin.encode()).hexdigest()[:10]}.png"
            size = _normalize(origin, data, dest)
            if size is not None:
                photos.append(
                    Photo(source, stem, str(dest), origin, licence, attribution(licence), *size)
                )
            done(1)
    write_atomic(index, json.dumps([asdict(p) for p in photos], indent=0))
    return photos


def _needs_attribution(licence: str) -> bool:
    from segsim.assets.sweethome3d import needs_attribution

    return needs_attribution(licence)


@lru_cache(maxsize=32)
def source_photos(source: str) -> tuple[Photo, ...]:
    """The photos of one built-in source (empty when it is not installed)."""
    if source == "backgrounds":
        items = _background_files()
    elif source == "sweethome3d":
        items = _sweethome3d_files()
    elif source == "robosuite":
        folder = robosuite_dir()
        items = _folder_files(folder, "MIT (robosuite)") if folder else []
    else:
        raise SegsimError(
            f"photos.sources: unknown source {source!r}",
            f"use any of {', '.join(SOURCES)} (and photos.dirs for folders of your own)",
            param="sources",
        )
    if not items:
        return ()
    return tuple(_build(source, source, items, _needs_attribution))


@lru_cache(maxsize=32)
def folder_photos(folder: str) -> tuple[Photo, ...]:
    """The photos of a user's folder; a folder with none readable is a SegsimError."""
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise SegsimError(
            f"photos.dirs: folder not found: {p}", "give a folder of photos", param="dirs"
        )
    items = _folder_files(p, "user-supplied")
    key = f"dir-{hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:10]}"
    photos = _build("dir", key, items, lambda _licence: False) if items else []
    if not photos:
        raise SegsimError(
            f"photos.dirs: no readable photos ({', '.join(IMAGE_SUFFIXES)}, at least "
            f"{MIN_SIDE} px a side) in {p}",
            f"put photos in {p} or remove it from photos.dirs",
            param="dirs",
        )
    return tuple(photos)


def select_photos(
    sources: tuple[str, ...] | list[str] = SOURCES,
    dirs: tuple[str, ...] | list[str] = (),
    exclude: tuple[str, ...] | list[str] = (),
    env: bool = True,
) -> list[Photo]:
    """Every photo of the sources and folders, less names matching `exclude` (case-insensitive
    fnmatch on the origin), in a fixed order so frame i picks the same photo everywhere; `env`:
    $SEGSIM_PHOTO_DIRS's folders too."""
    found = [p for s in sources for p in source_photos(s)]
    found += [p for d in (*dirs, *(env_dirs() if env else ())) for p in folder_photos(str(d))]
    pats = [x.casefold() for x in exclude]
    found = [p for p in found if not any(fnmatch.fnmatchcase(p.origin.casefold(), x) for x in pats)]
    if not found:
        raise SegsimError(
            f"the photos library is empty (sources {', '.join(sources) or 'none'}"
            + (f", folders {', '.join(map(str, dirs))}" if dirs else "")
            + ")",
            f"{missing_message()}, or give photos.dirs",
        )
    return sorted(found, key=lambda p: (p.source, p.origin))


def missing_message() -> str:
    return (
        f"install desktop backgrounds (`{INSTALL}`) or the Sweet Home 3D catalogs "
        "(`sudo apt-get install sweethome3d-furniture`)"
    )


def credit_line(photo: Photo) -> str:
    mark = "attribution required" if photo.attribution_required else "no attribution required"
    return f"- photo {photo.origin} ({photo.source}): {photo.licence} ({mark})"


@lru_cache(maxsize=1)
def photos_by_path() -> dict[str, Photo]:
    """Every library photo by the path scenes name it with (reads every source's index)."""
    return {p.path: p for s in SOURCES for p in source_photos(s)}


# --- crops ------------------------------------------------------------------------------------

CROP_ZOOM = (0.25, 1.0)  # texture crops: side as a fraction of the largest crop that fits


def crop_box(seed: int, zoom: float, aspect: float, width: int, height: int):
    """(x0, y0, x1, y1) pixels of a crop of a `width` x `height` photo with the given aspect
    (w / h): `zoom` of the largest such crop, at a position fixed by `seed` (a pure function,
    so the renderer recomputes from the scene what the randomizer drew)."""
    zoom = float(np.clip(zoom, 1e-3, 1.0))
    cw, ch = (width, width / aspect) if width / height < aspect else (height * aspect, height)
    cw, ch = max(1, round(cw * zoom)), max(1, round(ch * zoom))
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 31337])
    x0 = int(rng.integers(0, width - cw + 1))
    y0 = int(rng.integers(0, height - ch + 1))
    return x0, y0, x0 + cw, y0 + ch


def texture_zoom(seed: int) -> float:
    """The crop zoom of a photo texture, from its seed (Texture has no field of its own)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 4242])
    return float(rng.uniform(*CROP_ZOOM))
