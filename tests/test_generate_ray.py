"""`generate` on a real local Ray cluster (2 CPUs on this machine), with the real renderer.

The cluster is started once for the module with ray.init(num_cpus=2) and shut down at its end;
tests that need a driver of their own (a killed driver) connect to it by address. Starting the
cluster alone takes ~10 s here, so every test that uses it is marked slow.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from segsim.dataset.generate import generate_dataset, gl_frame_source  # noqa: E402
from segsim.errors import SegsimError  # noqa: E402
from segsim.scene.config import load_scene_config  # noqa: E402

TESTS = Path(__file__).resolve().parent
SIZE, SEED, COUNT = 48, 5, 24
SLOW_SOURCE = "test_generate_ray:slow_gl_source"


class slow_gl_source(gl_frame_source):
    """The real pipeline, 50 ms slower a frame, so a test can act while a run is under way."""

    def __call__(self, seed: int, index: int):
        time.sleep(0.05)
        return super().__call__(seed, index)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def metas(root: Path) -> int:
    return len(list(root.glob("meta/*/*.json")))


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU Ray cluster on this machine; its workers can import this test module."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": str(TESTS)}},
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def cfg():
    return load_scene_config("shapes")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, cfg):
    """The reference: the same frames rendered by a local run in this process."""
    out = tmp_path_factory.mktemp("local") / "ds"
    generate_dataset(
        out, cfg, COUNT, SIZE, SIZE, seed=SEED, workers=1, progress=False, preset="shapes"
    )
    return tree_bytes(out)


def ray_run(out, cfg, **kw):
    return generate_dataset(
        out, cfg, COUNT, SIZE, SIZE, seed=SEED, progress=False, preset="shapes", ray="auto", **kw
    )


@pytest.mark.slow
def test_a_ray_run_writes_the_bytes_of_a_local_run(cluster, cfg, local_run, tmp_path):
    res = ray_run(tmp_path / "ds", cfg)
    assert res.rendered == COUNT and res.retried == 0
    got = tree_bytes(tmp_path / "ds")
    assert len(got) == COUNT * 5 + 3  # and CREDITS.md: no marker or temp file left behind
    assert got == local_run


@pytest.mark.slow
def test_a_killed_actor_has_its_batch_redone_and_the_bytes_stay_those_of_a_local_run(
    cluster, cfg, local_run, tmp_path
):
    out, killed = tmp_path / "ds", []

    def kill_one_actor_mid_run():
        deadline = time.time() + 60
        while metas(out) < 4 and time.time() < deadline:
            time.sleep(0.01)
        names = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("segsim-generate-")
        ]
        if names and metas(out) < COUNT:
            ray.kill(ray.get_actor(names[0], namespace="segsim"))
            killed.append(metas(out))

    killer = threading.Thread(target=kill_one_actor_mid_run)
    killer.start()
    res = ray_run(out, cfg, frame_source=SLOW_SOURCE)
    killer.join()
    assert killed and killed[0] < COUNT, "the actor was not killed mid-run"
    assert res.retried >= 1 and res.rendered == COUNT
    assert tree_bytes(out) == local_run


@pytest.mark.slow
def test_out_a_node_cannot_see_is_refused_and_nothing_is_left(cluster, cfg, tmp_path, monkeypatch):
    """The driver's marker lands on a disk the actors do not see (here: another folder), as
    when --out is a local path on the driver: refused before any frame, the new folder gone."""
    from segsim.dataset import ray_pool

    elsewhere = tmp_path / "driver-only"
    real_write = ray_pool._write_marker
    monkeypatch.setattr(
        ray_pool, "_write_marker", lambda path, token: real_write(elsewhere / path.name, token)
    )
    out = tmp_path / "new" / "ds"
    with pytest.raises(SegsimError, match=r"out .* is not on storage every Ray node shares"):
        ray_run(out, cfg)
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_a_cluster_whose_workers_cannot_import_segsim_is_refused(cluster, cfg, tmp_path):
    """Simulated with a runtime_env whose PYTHONPATH puts first a `segsim` that fails to
    import the way a missing one does, as on nodes where the project is not installed."""
    shadow = tmp_path / "shadow" / "segsim"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'segsim'\", name='segsim')\n"
    )
    env = {"env_vars": {"PYTHONPATH": str(shadow.parent)}}
    out = tmp_path / "ds"
    with pytest.raises(SegsimError, match=r"workers cannot import segsim \(it is not installed"):
        ray_run(out, cfg, ray_runtime_env=env)
    assert not out.exists()


@pytest.mark.slow
def test_a_resume_keeps_what_was_there_when_the_cluster_check_fails(
    cluster, cfg, local_run, tmp_path, monkeypatch
):
    """A complete dataset rerun with a bad cluster keeps its manifest and every file."""
    from segsim.dataset import ray_pool

    out = tmp_path / "ds"
    ray_run(out, cfg)
    monkeypatch.setattr(ray_pool, "_write_marker", lambda path, token: None)
    with pytest.raises(SegsimError, match="not on storage every Ray node shares"):
        ray_run(out, cfg)
    assert tree_bytes(out) == local_run


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "segsim", "generate", "--count", str(COUNT), "--size",
            str(SIZE), "--seed", str(SEED), "-q", *map(str, args)]  # fmt: skip


def test_cli_an_unreachable_address_is_one_line_exit_2_and_nothing_written(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.run(
        _cli("--out", out, "--ray", f"127.0.0.1:{_closed_port()}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--ray 127.0.0.1:" in lines[0], proc.stderr
    assert "no Ray cluster answers there" in lines[0] and "fix:" in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_cli_driver_killed_mid_run_then_rerun_resumes_to_the_bytes_of_a_local_run(
    cluster, local_run, tmp_path, capsys
):
    out = tmp_path / "ds"
    script = (
        "from segsim.dataset.generate import generate_dataset\n"
        "from segsim.scene.config import load_scene_config\n"
        f"generate_dataset({str(out)!r}, load_scene_config('shapes'), {COUNT}, {SIZE}, "
        f"{SIZE}, seed={SEED}, progress=False, preset='shapes', ray={cluster!r},"
        f" frame_source={SLOW_SOURCE!r},"
        f" ray_runtime_env={{'env_vars': {{'PYTHONPATH': {str(TESTS)!r}}}}})\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.time() + 120
        while metas(out) < 4:
            assert proc.poll() is None, f"the driver ended early: {proc.stderr.read().decode()}"
            assert time.time() < deadline, "the driver never wrote a frame"
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver only: its actors live in the cluster
        proc.wait()
    assert not (out / "manifest.jsonl").exists() and metas(out) < COUNT

    from segsim.cli import main

    # the same command through the CLI (in this process: it uses the module's cluster)
    args = _cli("--out", out, "--ray", "auto")[3:]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "kept from an earlier run" in text and f"{COUNT} frames" in text, text
    assert tree_bytes(out) == local_run
    # the killed driver's actors went with it: Ray ends a job's actors when its driver dies
    assert not [
        a for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith("segsim-generate-")
    ]  # fmt: skip


def test_the_folder_undo_removes_only_what_generate_created(tmp_path):
    from segsim.dataset import ray_pool
    from segsim.dataset.info import build_info, write_info
    from segsim.dataset.resume import prepare_folder

    info = build_info(
        labels={"labels": [], "ignore_index": 255},
        config={},
        preset=None,
        seed=0,
        width=8,
        height=8,
        count=1,
        fractions=(1, 0, 0),
    )

    new = tmp_path / "a" / "b"
    undo = ray_pool.folder_undo(new)
    prepare_folder(new, info)
    undo.undo()
    assert not (tmp_path / "a").exists()

    kept = tmp_path / "kept"  # a resume: the folder was a dataset already
    kept.mkdir()
    write_info(kept, info)
    undo = ray_pool.folder_undo(kept)
    prepare_folder(kept, info)
    undo.undo()
    assert (kept / "dataset.yaml").is_file() and (kept / "images" / "train").is_dir()

    empty = tmp_path / "empty"  # an empty folder the user made stays, empty
    empty.mkdir()
    undo = ray_pool.folder_undo(empty)
    prepare_folder(empty, info)
    (empty / "images" / "train" / "theirs.txt").write_text("not ours")
    undo.undo()
    assert sorted(p.relative_to(empty).as_posix() for p in empty.rglob("*")) == [
        "images",
        "images/train",
        "images/train/theirs.txt",
    ]


def test_only_a_process_that_exists_to_render_freezes_its_heap():
    from segsim.dataset import pool
    from segsim.dataset.ray_pool import FrameWorker

    args = ("segsim.dataset.generate:gl_frame_source", None, 8, 8, 0, (1.0, 0.0, 0.0), "/x")
    try:
        pool._init_worker(*args)  # one worker: the caller's own process, which lives on
        assert pool._state["freeze_heap"] is False
        FrameWorker(args)  # a Ray actor: a process of its own
        assert pool._state["freeze_heap"] is True
    finally:
        pool._state.clear()
