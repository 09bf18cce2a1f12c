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


class StudyProgress:
    """The bar of ``optimize(show_progress_bar=True)``: trials done, best value or front
    size; silent when stderr is not a terminal."""

    def __init__(self, study: Any, n_trials: int | None):
        import sys

        self.study = study
        self._p = ProgressBar(study.study_name, n_trials) if sys.stderr.isatty() else None

    def update(self, frozen: Any) -> None:
        if self._p is None:
            return
        best = ""
        try:
            if len(self.study.directions) > 1:
                best = f"front: {len(self.study.best_trials)}"
            else:
                best = f"best: {self.study.best_value:.6g}"
        except ValueError:
            pass
        self._p.advance(best)

    def close(self) -> None:
        if self._p is not None:
            self._p.close()
