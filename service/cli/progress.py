"""Progress of long CLI work: a bar on a terminal, plain lines elsewhere (CI, pipes, log files).

Both go to standard error, so standard output stays clean for `--json` and for data.
"""

from __future__ import annotations

import sys
import time
from typing import IO

import click


class Progress:
    """`advance(n)` as work is done, `finish()` at the end (also as a context manager).

    On a terminal: click's progress bar (with an ETA when the total is known). Elsewhere: a line at each
    tenth of the total (or every `every_seconds` without a total, and at most that often either way).
    """

    def __init__(self, label: str, total: int | None = None, *, stream: IO[str] | None = None,
                 interactive: bool | None = None, every_seconds: float = 5.0):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = _isatty(self.stream) if interactive is None else interactive
        self.every_seconds = every_seconds
        self._started = self._last_line = time.monotonic()
        self._next_tenth = 1
        self._bar = None
        self._step: str | None = None
        if self.interactive:
            self._bar = click.progressbar(length=total, label=label, file=self.stream, show_pos=True,
                                          show_eta=total is not None)
            self._bar.__enter__()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self.total:
            tenth = self.done * 10 // self.total
            if tenth >= self._next_tenth and (now - self._last_line >= 0.5 or self.done >= self.total):
                self._next_tenth = tenth + 1
                self._line(f"{self.done}/{self.total} ({self.done * 100 // self.total}%)", now)
        elif now - self._last_line >= self.every_seconds:
            self._line(f"{self.done}", now)

    def step(self, name: str) -> None:
        """For work counted in steps: the previous step is done, `name` starts now."""
        if self._step is not None:
            self._count_step()
        self._step = name
        if self._bar is not None:
            self._bar.label = f"{self.label}: {name}"
            self._bar.render_progress()
        else:
            self._line(f"[{self.done + 1}/{self.total}] {name}" if self.total else name, time.monotonic())

    def _count_step(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)

    def finish(self) -> None:
        if self._step is not None:
            self._count_step()
            self._step = None
        seconds = time.monotonic() - self._started
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        else:
            click.echo(f"{self.label}: done, {self.done} in {seconds:.1f}s", file=self.stream)

    def _line(self, text: str, now: float) -> None:
        self._last_line = now
        click.echo(f"{self.label}: {text}", file=self.stream)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.finish()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
