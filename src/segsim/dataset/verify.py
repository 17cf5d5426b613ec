"""Check a dataset folder against its manifest: every file present, every checksum right."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from segsim.dataset.info import read_info
from segsim.dataset.layout import MANIFEST
from segsim.dataset.manifest import read_manifest
from segsim.dataset.writer import sha256
from segsim.errors import SegsimError
from segsim.progress import progress_bar


@dataclass
class VerifyReport:
    root: Path
    frames: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)  # relative paths
    corrupt: list[str] = field(default_factory=list)  # relative paths whose sha256 differs
    problems: list[str] = field(default_factory=list)  # dataset-level problems

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.problems)


def verify_dataset(root, progress: bool = False) -> VerifyReport:
    """Raises SegsimError when `root` is not a segsim dataset at all; otherwise reports."""
    root = Path(root)
    if not root.is_dir():
        raise SegsimError(
            f"{root} is not a folder", "pass the folder given to `segsim generate --out`"
        )
    info = read_info(root)
    report = VerifyReport(root)
    if not (root / MANIFEST).is_file():
        report.problems.append(
            f"no {MANIFEST}: generation did not finish "
            "(re-run the same `segsim generate` command to complete it)"
        )
        return report
    entries = read_manifest(root)
    report.frames = len(entries)
    if len(entries) != info["count"]:
        report.problems.append(
            f"manifest lists {len(entries)} frames, dataset.yaml says {info['count']}"
        )
    seen = sorted(e["index"] for e in entries)
    if seen != list(range(len(seen))):
        report.problems.append("manifest frame indices are not 0..N-1 without gaps or repeats")
    with progress_bar(
        progress, "verifying", len(entries), unit="frames", transient=True
    ) as advance:
        for entry in entries:
            for rel, digest in entry["files"].items():
                report.files += 1
                path = root / rel
                if not path.is_file():
                    report.missing.append(rel)
                elif sha256(path.read_bytes()) != digest:
                    report.corrupt.append(rel)
            advance(1)
    return report
