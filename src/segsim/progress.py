"""One progress bar for every long loop: a counter with its rate and ETA, or nothing when off.

    with progress_bar(not quiet, "generating", total, unit="frames", completed=done) as advance:
        for ...:
            advance(1)

Drawn by rich on stderr, so what a command prints on stdout stays clean for pipes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(
    enabled: bool,
    title: str,
    total: int,
    *,
    unit: str = "img",
    completed: int = 0,
    decimals: int = 1,
    stderr: bool = True,
    transient: bool = False,
) -> Iterator[Callable[[int], None]]:
    """Yields `advance(n)`, which counts n more items done; a no-op when not `enabled`.

    The bar shows `title`, done/total, percent, the rate ("12.3 img/s", rich's estimate over
    the last 30 s, so start-up does not dilute it), elapsed time and ETA. `completed` items
    were done before (a resume); `decimals` is the rate's precision; `transient` clears the
    bar when the block ends.
    """
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.{decimals}f} {unit}/s" if speed else f"- {unit}/s")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=Console(stderr=stderr), refresh_per_second=4, transient=transient
    ) as bar:
        task = bar.add_task(title, total=total, completed=completed)
        yield lambda n: bar.update(task, advance=n)
