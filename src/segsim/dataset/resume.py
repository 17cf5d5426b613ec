"""Resuming `generate` in a folder an earlier run left: accept it only for the same dataset,
sweep the temp files a killed run left, and find the frames it finished (checked whole)."""

from __future__ import annotations

import json
from pathlib import Path

from segsim.dataset import png
from segsim.dataset.info import check_resume, read_info, write_info
from segsim.dataset.layout import DATASET_YAML, PASSES, SPLITS, frame_id, frame_paths
from segsim.dataset.splits import splits_of
from segsim.dataset.writer import sha256
from segsim.errors import SegsimError
from segsim.fileio import TMP_SUFFIX


def prepare_folder(root: Path, info: dict) -> None:
    """Create the folder or accept it as a resume of the same dataset; refuse anything else."""
    if root.exists() and not root.is_dir():
        raise SegsimError(f"out {root} is a file", "pass a folder path", param="out")
    if root.is_dir() and any(root.iterdir()):
        if not (root / DATASET_YAML).is_file():
            raise SegsimError(
                f"out {root} is not empty and is not a segsim dataset",
                "pass an empty or new folder",
            )
        check_resume(read_info(root), info, root)
    for pass_name in PASSES:
        for split in SPLITS:
            (root / pass_name / split).mkdir(parents=True, exist_ok=True)
    write_info(root, info)


def remove_stale_temps(root: Path) -> None:
    """Temp files left by a killed run: never complete, so never worth keeping."""
    dirs = [root] + [root / p / s for p in PASSES for s in SPLITS]
    for d in dirs:
        for tmp in d.glob(f".*{TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)


def complete_frames(
    root: Path, count: int, fractions, group: int = 1
) -> dict[int, tuple[str, dict[str, str]]]:
    """Frames an earlier run finished (all files present, meta written last), with checksums.

    Each file is also checked whole (PNG chunk CRCs, meta parses and names the frame): a frame
    that fails, e.g. a file emptied by a power cut after its rename, is rendered again."""
    done = {}
    for i, split in enumerate(splits_of(count, fractions, group)):
        paths = frame_paths(root, split, frame_id(i))
        if not paths["meta"].is_file() or not all(p.is_file() for p in paths.values()):
            continue
        blobs = {name: p.read_bytes() for name, p in paths.items()}
        if not frame_intact(blobs, i):
            continue
        done[i] = (
            split,
            {paths[n].relative_to(root).as_posix(): sha256(b) for n, b in blobs.items()},
        )
    return done


def frame_intact(blobs: dict[str, bytes], index: int) -> bool:
    try:
        if json.loads(blobs["meta"]).get("index") != index:
            return False
    except (ValueError, AttributeError):
        return False
    return all(png.is_intact(b) for name, b in blobs.items() if name != "meta")
