"""manifest.jsonl: one line per frame, in index order, listing each file's sha256.

    {"files": {"depth/train/000000.png": "<sha256>", ...},
     "id": "000000", "index": 0, "split": "train"}

It is written once, atomically, when every frame is on disk, so its presence also says the
dataset is complete. `segsim verify` re-hashes every file against it.
"""

from __future__ import annotations

import json
from pathlib import Path

from segsim.dataset.layout import MANIFEST, frame_id
from segsim.errors import SegsimError
from segsim.fileio import write_atomic


def manifest_line(index: int, split: str, files: dict[str, str]) -> str:
    entry = {
        "index": index,
        "id": frame_id(index),
        "split": split,
        "files": dict(sorted(files.items())),
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def write_manifest(root: Path, entries: dict[int, tuple[str, dict[str, str]]]) -> Path:
    """entries: frame index -> (split, {relative path: sha256})."""
    text = "".join(manifest_line(i, *entries[i]) + "\n" for i in sorted(entries))
    path = Path(root) / MANIFEST
    write_atomic(path, text.encode())
    return path


def read_manifest(root: Path) -> list[dict]:
    path = Path(root) / MANIFEST
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entry["index"], entry["split"], entry["files"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise SegsimError(
                f"{path} line {n} is malformed ({e})",
                "regenerate the dataset with the same `segsim generate` command",
            ) from None
        out.append(entry)
    return out
