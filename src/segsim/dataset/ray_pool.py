"""Generation on a Ray cluster: the render workers of dataset/pool.py, run inside Ray actors.

Each actor is one process holding one frame source (one GL context: EGL on the node's GPU, or
llvmpipe), initialised by `pool._init_worker` and rendering with `pool._render_batch`, exactly
as a local worker does: it writes its frames into `out` (storage every node shares) and sends
back only checksums, which the driver folds into the manifest like a local run. So the bytes are
those of a local run, and a rerun after the driver dies resumes like one (dataset/resume.py).

Before anything depends on the cluster, `open_cluster` checks it: the address answers, every
actor imports the same segsim (and PNG encoder) as the driver, and every actor can read a marker
file the driver wrote in `out`. A batch whose actor (or node) dies goes to a fresh actor: frames
are deterministic and writes atomic, so writing a frame twice is harmless.

ray is imported inside functions only: it is an optional extra (`pip install 'segsim[ray]'`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import sys
import tempfile
from collections import deque
from pathlib import Path

from segsim.dataset import pool
from segsim.dataset.layout import DATASET_YAML, PASSES, SPLITS
from segsim.errors import SegsimError
from segsim.fileio import TMP_SUFFIX

DEPTH = 2  # batches queued per actor, so it never waits for the driver between two batches
MAX_TRIES = 3  # a batch whose actor dies this many times stops the run
START_TIMEOUT = 300.0  # seconds for the actors to start: an autoscaler may be adding nodes
NAMESPACE = "segsim"  # actors are named segsim-generate-<run>-<slot> in it (`ray list actors`)
CONNECT_TIMEOUT = 5.0
# no lowercase "ray" in it: the CLI turns the parameter's name into its flag (--ray)
_CONNECT_FIX = (
    "start the cluster (Ray's `start --head` on its head node) and pass its address as "
    "host:port (the GCS port, 6379 by default), or auto on one of its nodes"
)


class FrameWorker:
    """The body of each Ray actor: one process, one frame source, the local worker's code."""

    def __init__(self, init_args: tuple):
        # one CPU per actor: the rasterizer runs in the actor's own thread, as local workers
        # do when they fill the cores (pool.raster_threads)
        pool._init_worker(*init_args, None, 0, own_process=True)

    def hello(self, marker: str, token: str) -> dict:
        """What the driver checks before it sends work: versions, encoder, shared storage."""
        import segsim
        from segsim.dataset import png

        try:
            seen = Path(marker).read_text() == token
        except OSError:
            seen = False
        return {
            "node": _node_name(),
            "segsim": segsim.__version__,
            "fpng": png._fpng is not None,
            "marker": seen,
        }

    def render(self, batch: list[int]) -> list[tuple[int, str, dict[str, str]]]:
        return pool._render_batch(batch)

    def release(self) -> None:
        release = getattr(pool._state.get("render"), "release", None)
        if release is not None:
            release()


def _node_name() -> str:
    try:
        import ray

        return f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
    except Exception:  # a name for messages only
        return socket.gethostname()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SegsimError(
            "generating on Ray needs the Ray package, which is not installed",
            "pip install 'segsim[ray]' (on this machine and on every node of the cluster)",
        ) from None
    return ray


def _check_reachable(address: str) -> None:
    """ray.init waits minutes on an address nobody answers: ask the port first."""
    hostport = address.removeprefix("ray://")
    if address in ("auto", "local") or ":" not in hostport:
        return
    host, _, port = hostport.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as e:
        raise SegsimError(
            f"ray {address}: no Ray cluster answers there ({e})",
            _CONNECT_FIX,
            param="ray",
        ) from None


def _connect(address: str) -> bool:
    """Connect to the cluster; True if this call did (and so must disconnect at the end)."""
    if not address.strip():
        raise SegsimError(
            "ray is empty", "pass auto (the cluster of this node) or host:port", param="ray"
        )
    ray = _import_ray()
    if ray.is_initialized():  # the caller connected already (tests, notebooks): use that
        return False
    _check_reachable(address)
    try:
        with _quiet_stderr():
            ray.init(
                address=address,
                namespace=NAMESPACE,
                logging_level="WARNING",
                log_to_driver=False,  # actors print nothing of use; it would break the bar
            )
    except ConnectionError as e:
        raise SegsimError(
            f"ray {address}: could not connect to a Ray cluster ({e})",
            _CONNECT_FIX,
            param="ray",
        ) from None
    return True


@contextlib.contextmanager
def _quiet_stderr():
    """Ray's C++ client logs each failed try to connect on fd 2 (a line a second for 20 s on a
    port that answers but is no Ray): the error raised says it in one line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


class _FolderUndo:
    """What generate created for a new dataset folder, removed again if the cluster check fails:
    a bad --ray leaves nothing behind. Only empty folders and our dataset.yaml are removed."""

    def __init__(self, root: Path):
        self.root = root
        self.missing = []
        p = root
        while not p.exists():
            self.missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        self.was_empty = root.is_dir() and not any(root.iterdir())

    def undo(self) -> None:
        if not (self.missing or self.was_empty):
            return  # a resume: the folder was a dataset already, keep it as it was
        (self.root / DATASET_YAML).unlink(missing_ok=True)
        for name in PASSES:
            for split in SPLITS:
                _rmdir(self.root / name / split)
            _rmdir(self.root / name)
        for p in self.missing:  # deepest first
            _rmdir(p)


def _rmdir(p: Path) -> None:
    try:
        p.rmdir()
    except OSError:  # not empty (someone else's file) or gone: leave it
        pass


def folder_undo(root) -> _FolderUndo:
    """Take before generate creates `root`: see _FolderUndo."""
    return _FolderUndo(Path(root))


class RayCluster:
    """Actors started and checked on a cluster; `frames(todo)` renders and then shuts down."""

    def __init__(self, address: str, workers: int | None, init_args: tuple, runtime_env):
        self.ray = _import_ray()
        self.address, self.init_args = address, init_args
        self.root = Path(init_args[-1])
        self.run = secrets.token_hex(4)
        self.token = secrets.token_hex(16)
        # swept like a temp file by the next run if this driver is killed
        self.marker = self.root / f".ray-marker.{self.run}{TMP_SUFFIX}"
        self.retried = 0
        self.actors: list = []
        self.generation: list[int] = []
        self.runtime_env = runtime_env
        self.owns_connection = _connect(address)
        self.workers = workers or max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def start(self) -> None:
        import segsim
        from segsim.dataset import png

        _write_marker(self.marker, self.token)
        self.expect = {"segsim": segsim.__version__, "fpng": png._fpng is not None}
        # kept before the checks so that close() ends them if one fails
        self.actors = [self._new_actor(k) for k in range(self.workers)]
        self.generation = [0] * len(self.actors)
        hellos = [h.hello.remote(str(self.marker), self.token) for h in self.actors]
        for hello in self._wait_hellos(hellos):
            self._check_hello(hello)

    def _new_actor(self, slot: int):
        Actor = self.ray.remote(FrameWorker)
        return Actor.options(
            name=f"segsim-generate-{self.run}-{slot}-{self.retried}",
            namespace=NAMESPACE,
            num_cpus=1,
            runtime_env=self.runtime_env,
            scheduling_strategy="SPREAD",  # over all nodes: even load, every node's mount checked
        ).remote(self.init_args)

    def _wait_hellos(self, refs: list) -> list[dict]:
        ray = self.ray
        ready, pending = ray.wait(refs, num_returns=len(refs), timeout=START_TIMEOUT)
        if pending:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            raise SegsimError(
                f"workers {len(refs)}: only {len(ready)} Ray actors started within "
                f"{START_TIMEOUT:.0f} s (the cluster has {cpus} CPUs, one per actor)",
                f"pass workers {max(1, cpus)} or fewer, or add nodes to the cluster",
                param="workers",
            )
        try:
            return ray.get(refs)
        except Exception as e:
            raise self._start_error(e) from None

    def _start_error(self, e: Exception) -> Exception:
        text = str(e)
        missing = re.search(r"No module named '([\w.]+)'", text)
        if missing:
            name = missing.group(1)
            what = "segsim (it is not installed there)" if name.startswith("segsim") else name
            return SegsimError(
                f"the Ray cluster's workers cannot import {what}",
                "install this segsim with its dependencies on every node (pip install "
                "'segsim[ray]' in the Python the cluster runs, e.g. in the cluster YAML's "
                "setup_commands; see docs/ray.md)",
            )
        cause = getattr(e, "cause", None)
        if isinstance(cause, SegsimError):
            return cause
        first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
        return SegsimError(
            f"a Ray actor could not start: {first}",
            "check the node with `ray status` and the actor's log (`ray logs`, docs/ray.md)",
        )

    def _check_hello(self, hello: dict) -> None:
        node = hello["node"]
        if not hello["marker"]:
            raise SegsimError(
                f"out {self.root} is not on storage every Ray node shares: node {node} cannot "
                f"read the file {self.marker.name} this machine wrote there",
                "pass an out folder on a file system that every node mounts at the same path "
                "(NFS, a cloud file store; see docs/ray.md)",
                param="out",
            )
        if hello["segsim"] != self.expect["segsim"]:
            raise SegsimError(
                f"node {node} runs segsim {hello['segsim']}, this machine "
                f"{self.expect['segsim']}: their frames could differ",
                "install the same segsim on every node and on this machine",
            )
        if hello["fpng"] != self.expect["fpng"]:
            have = "with" if hello["fpng"] else "without"
            raise SegsimError(
                f"node {node} has segsim's fastpng extra installed {have}, unlike this "
                "machine: its RGB PNGs would have other bytes",
                "install the fastpng extra on every node and this machine, or on none",
            )

    def _replace(self, slot: int) -> None:
        """A fresh actor for `slot`, checked like the first ones (it may be on a new node)."""
        self.retried += 1
        try:
            self.ray.kill(self.actors[slot])  # in case it only looked dead
        except Exception:
            pass
        handle = self._new_actor(slot)
        (hello,) = self._wait_hellos([handle.hello.remote(str(self.marker), self.token)])
        self._check_hello(hello)
        self.actors[slot] = handle
        self.generation[slot] += 1

    def frames(self, todo: list[int]):
        """Yield (index, split, checksums) for every frame in `todo`, in completion order."""
        ray = self.ray
        try:
            batches = pool._batches(todo, len(self.actors), pool.views_of(self.init_args))
            queue = deque((b, 0) for b in batches)
            inflight: dict = {}  # ObjectRef -> (slot, generation, batch, tries)

            def top_up(slot: int) -> None:
                gen = self.generation[slot]
                mine = sum(1 for s, g, _, _ in inflight.values() if (s, g) == (slot, gen))
                for _ in range(DEPTH - mine):
                    if not queue:
                        return
                    batch, tries = queue.popleft()
                    ref = self.actors[slot].render.remote(batch)
                    inflight[ref] = (slot, gen, batch, tries)

            for slot in range(len(self.actors)):
                top_up(slot)
            while inflight:
                (ref,), _ = ray.wait(list(inflight), num_returns=1)
                slot, gen, batch, tries = inflight.pop(ref)
                try:
                    results = ray.get(ref)
                except Exception as e:
                    if not _is_death(e):
                        raise _task_error(e) from None
                    if tries + 1 >= MAX_TRIES:
                        raise SegsimError(
                            f"frames {batch[0]}-{batch[-1]}: their Ray actor died "
                            f"{MAX_TRIES} times ({type(e).__name__})",
                            "check the nodes with `ray status` and `ray logs`, then rerun the "
                            "same command: it keeps the frames already written",
                        ) from None
                    queue.appendleft((batch, tries + 1))
                    if gen == self.generation[slot]:  # its other batches fail the same way
                        self._replace(slot)
                    top_up(slot)
                    continue
                yield from results
                top_up(slot)
        finally:
            self.close()

    def close(self) -> None:
        for handle in self.actors:
            try:
                self.ray.kill(handle)  # gives the node its CPU and GL context back now
            except Exception:  # already dead
                pass
        self.actors = []
        self.marker.unlink(missing_ok=True)
        if self.owns_connection and self.ray.is_initialized():
            self.ray.shutdown()
            self.owns_connection = False


def _is_death(e: Exception) -> bool:
    """The actor process, its worker or its node died (not an error in the work itself)."""
    import ray.exceptions as rex

    return isinstance(
        e, (rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError)
    )


def _task_error(e: Exception) -> Exception:
    """A worker-side exception as itself: a SegsimError reaches the CLI as one line."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, BaseException):
        return cause
    return e


def _write_marker(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token)
    # NFS and friends may cache a folder's listing for a few seconds on other nodes
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_cluster(
    address: str, workers: int | None, init_args: tuple, undo: _FolderUndo, runtime_env=None
) -> RayCluster:
    """Connect, start `workers` actors (None: one per CPU of the cluster) and check them.

    On any failure the connection is closed, the marker removed and the folder `undo` describes
    put back as it was, then the error raised."""
    cluster = None
    try:
        cluster = RayCluster(address, workers, init_args, runtime_env)
        cluster.start()
        return cluster
    except BaseException:
        if cluster is not None:
            cluster.close()
        undo.undo()
        raise
