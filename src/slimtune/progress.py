"""One rich progress bar, shared by ``Study.optimize``, the worker processes and the NAS search."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """Trials done out of ``total`` (None: unknown), elapsed time and a free ``info`` text."""

    def __init__(self, description: str, total: int | None):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._p: Any = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            transient=False,
        )
        self._p.start()
        self._task = self._p.add_task(description, total=total, info="")

    def advance(self, info: str = "") -> None:
        self._p.update(self._task, advance=1, info=info)

    def close(self) -> None:
        self._p.stop()
