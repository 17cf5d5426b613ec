"""The asset cache, and unpacking one model's files from a zip into it, atomically.

Worker processes unpack models on first use, often the same model at the same moment: each
extracts into a temporary folder beside the target and renames it into place; the first rename
wins and the others drop their copy, so a model's folder is either absent or whole, never half
written. Zip entry names are checked before anything is written (no zip-slip).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

from segsim.errors import SegsimError

CACHE_ENV = "SEGSIM_CACHE"


def cache_dir() -> Path:
    """The cache folder: $SEGSIM_CACHE, else ~/.cache/segsim (read on every call)."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/segsim").expanduser()


def cached_arrays(path: Path, make: Callable[[], dict]) -> dict:
    """The arrays kept at `path` (an .npz in the asset cache), or those `make()` returns, then
    kept there (written atomically; a damaged entry is made again over)."""
    import numpy as np

    from segsim.fileio import atomic_path

    if path.is_file():
        try:
            with np.load(path) as d:
                return {name: d[name] for name in d.files}
        except (OSError, ValueError, KeyError):
            pass
    arrays = make()
    with atomic_path(path, suffix=".tmp.npz") as tmp:
        np.savez(tmp, **arrays)
    return arrays


def open_zip(zip_path: str | Path) -> zipfile.ZipFile:
    """The zip at `zip_path`, or a SegsimError naming it when it is missing or not a zip."""
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise SegsimError(
            f"{zip_path} is not a readable zip file ({e})",
            "reinstall it (for Sweet Home 3D catalogs: sudo apt-get install --reinstall "
            "sweethome3d-furniture) or remove it from the folder",
        ) from e


def is_unsafe_name(name: str) -> bool:
    """Whether a zip entry name could write outside the folder it is extracted into."""
    parts = re.split(r"[/\\]", name)
    return (
        not name
        or "\0" in name
        or name.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", name) is not None  # a Windows drive
        or ".." in parts
    )


def unpack_member_files(zip_path: str | Path, members: Iterable[str], dest: str | Path) -> Path:
    """Extract `members` of the zip to `dest/<member>` all at once; returns `dest`.

    When `dest` already exists it is kept as it is (another process, or an earlier run, put it
    there whole). A member name that is absolute, has a `..` part or would land outside `dest`
    is a SegsimError naming the zip and the entry, and then nothing is written."""
    dest = Path(dest)
    if dest.is_dir():
        return dest
    names = sorted(set(members))
    for name in names:
        _check_name(zip_path, name)
    with open_zip(zip_path) as archive:
        infos = [_member(archive, zip_path, name) for name in names]
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
        try:
            root = tmp.resolve()
            targets = [(info, (root / info.filename).resolve()) for info in infos]
            for info, target in targets:  # all checked before the first byte is written
                if not target.is_relative_to(root):
                    _check_name(zip_path, info.filename, force=True)
            for info, target in targets:
                _extract(archive, zip_path, info, target)
            _move_into_place(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename won
    return dest


def _check_name(zip_path: str | Path, name: str, force: bool = False) -> None:
    if force or is_unsafe_name(name):
        raise SegsimError(
            f"{zip_path} holds an unsafe entry {name!r} (absolute, with '..' or landing outside "
            "the cache): refusing to unpack it",
            "use the catalog as the sweethome3d-furniture package ships it; a catalog from "
            "elsewhere may be crafted to write outside the cache",
        )


def _member(archive: zipfile.ZipFile, zip_path: str | Path, name: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(name)
    except KeyError:
        raise SegsimError(
            f"{zip_path} has no entry {name!r}",
            "the catalog's properties name a file its zip lacks; reinstall the catalog",
        ) from None


def _extract(archive: zipfile.ZipFile, zip_path, info: zipfile.ZipInfo, target: Path) -> None:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(info) as src, open(target, "xb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:  # disk errors pass through as they are
        raise SegsimError(
            f"{zip_path}: entry {info.filename!r} is corrupt ({e})",
            "reinstall the catalog (sudo apt-get install --reinstall sweethome3d-furniture)",
        ) from e


def _move_into_place(tmp: Path, dest: Path) -> None:
    try:
        os.rename(tmp, dest)
    except OSError as e:
        # another process renamed its whole copy in first: keep that one
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not dest.is_dir():
            raise
