"""Worker processes and crash safety, against the numpy fake pipeline (fast, no EGL).

The same properties are checked end to end with the real renderer and the CLI in
tests/test_cli_generate.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from segsim.dataset.generate import generate_dataset
from test_dataset_fake import FAKE_SOURCE, FakeConfig

TESTS = Path(__file__).resolve().parent


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_one_and_two_workers_write_identical_bytes(tmp_path):
    for w in (1, 2):
        generate_dataset(
            tmp_path / f"w{w}",
            FakeConfig(),
            30,
            48,
            40,
            seed=7,
            workers=w,
            progress=False,
            frame_source=FAKE_SOURCE,
        )
    one, two = tree_bytes(tmp_path / "w1"), tree_bytes(tmp_path / "w2")
    assert len(one) == 30 * 5 + 2
    assert one == two


def test_kill_9_then_rerun_gives_the_bytes_of_an_uninterrupted_run(tmp_path):
    count, cfg = 80, FakeConfig(delay=0.02)
    root = tmp_path / "killed"
    script = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
        "from test_dataset_fake import FakeConfig, FAKE_SOURCE\n"
        "from segsim.dataset.generate import generate_dataset\n"
        "if __name__ == '__main__':\n"
        f"    generate_dataset({str(root)!r}, FakeConfig(delay=0.02), {count}, 48, 40, "
        "seed=3, workers=2,\n"
        "                     progress=False, frame_source=FAKE_SOURCE)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.time() + 60
        while len(list(root.glob("meta/*/*.json"))) < 15:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "the run never got going"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers, mid-write
        proc.wait()
    done_before = len(list(root.glob("meta/*/*.json")))
    assert not (root / "manifest.jsonl").exists() and done_before < count

    res = generate_dataset(
        root, cfg, count, 48, 40, seed=3, workers=2, progress=False, frame_source=FAKE_SOURCE
    )
    assert res.reused >= 15 and res.rendered == count - res.reused
    generate_dataset(
        tmp_path / "ref",
        cfg,
        count,
        48,
        40,
        seed=3,
        workers=1,
        progress=False,
        frame_source=FAKE_SOURCE,
    )
    assert tree_bytes(root) == tree_bytes(tmp_path / "ref")


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(x) for x in (task / "children").read_text().split()]
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        import pytest

        pytest.skip("needs /proc/<pid>/task/<tid>/children (Linux)")
    root = tmp_path / "orphans"
    script = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
        "from test_dataset_fake import FakeConfig, FAKE_SOURCE\n"
        "from segsim.dataset.generate import generate_dataset\n"
        "if __name__ == '__main__':\n"
        f"    generate_dataset({str(root)!r}, FakeConfig(delay=0.05), 400, 32, 32, workers=2,\n"
        "                     progress=False, frame_source=FAKE_SOURCE)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.time() + 60
        while len(list(root.glob("meta/*/*.json"))) < 4:
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.02)
        kids = _children(proc.pid)
        assert len(kids) >= 2  # two workers (+ multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: no chance to stop its workers
        proc.wait()
        deadline = time.time() + 10
        while any(_alive(k) for k in kids) and time.time() < deadline:
            time.sleep(0.05)
        assert not [k for k in kids if _alive(k)], "workers outlived their killed parent"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_worker_side_user_error_reaches_the_caller_intact(tmp_path):
    import pytest

    from segsim.errors import SegsimError

    with pytest.raises(SegsimError, match=r"EGL could not start \(fix: install libegl1\)"):
        generate_dataset(
            tmp_path / "ds",
            FakeConfig(),
            6,
            16,
            16,
            workers=2,
            progress=False,
            frame_source="test_dataset_fake:failing_source",
        )
    assert not (tmp_path / "ds" / "manifest.jsonl").exists()


def test_workers_rasterize_in_their_own_thread_when_each_has_a_core_or_less(monkeypatch):
    """llvmpipe's rasterizer threads only compete with the other workers when the workers
    already fill the cores; spare cores still get threads; a user's LP_NUM_THREADS wins."""
    from segsim.dataset import pool as g
    from test_dataset_fake import FakeConfig

    monkeypatch.setattr(g, "default_workers", lambda: 2)
    assert g.raster_threads(2) == 0 and g.raster_threads(1) == 2
    monkeypatch.setattr(g, "default_workers", lambda: 16)
    assert g.raster_threads(2) == 8 and g.raster_threads(16) == 0 and g.raster_threads(12) == 0

    args = (FAKE_SOURCE, FakeConfig(), 8, 8, 0, (0.8, 0.1, 0.1), "/nonexistent", None)
    monkeypatch.delenv("LP_NUM_THREADS", raising=False)  # restored after the test
    try:
        g._init_worker(*args, 0)
        assert os.environ["LP_NUM_THREADS"] == "0"
        monkeypatch.setenv("LP_NUM_THREADS", "3")
        g._init_worker(*args, 0)
        assert os.environ["LP_NUM_THREADS"] == "3"
    finally:
        g._state.clear()


def test_batches_shrink_to_single_frames_at_the_end_so_no_worker_waits_on_a_big_last_one():
    from segsim.dataset.generate import MAX_BATCH, _batches

    for count, workers in ((2000, 2), (100, 2), (7, 2), (1, 1), (500, 16)):
        todo = list(range(3, 3 + count))
        batches = _batches(todo, workers)
        assert [i for b in batches for i in b] == todo  # every frame once, in order
        sizes = [len(b) for b in batches]
        assert all(1 <= s <= MAX_BATCH for s in sizes)
        assert sizes == sorted(sizes, reverse=True)  # big first, small last
        assert sizes[-1] == 1
    sizes = [len(b) for b in _batches(list(range(2000)), 2)]
    assert sizes[0] == MAX_BATCH and len(sizes) < 200  # the bulk still goes in big tasks
