"""When each replayed event is due, and how the replay reports its progress.

Pure: the replay loop asks :meth:`Pacer.due` for an event's send time
(seconds after the start) and waits for it itself; :class:`Progress`
decides what to print and when, from times it is given. So both are tested
without a clock or a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Pacer", "Progress", "progress_bar", "progress_line"]


@dataclass
class Pacer:
    """Send times: ``rate`` events per second, or the recorded timestamps sped up
    ``speed`` times, or (neither) as fast as possible.

    With ``speed``, the first timed event sets the origin; an event without a
    time, or recorded before the one before it, is due at once (time never
    runs backwards in a replay).

    >>> p = Pacer(rate=4)
    >>> [p.due(i, None) for i in range(3)]
    [0.0, 0.25, 0.5]
    >>> p = Pacer(speed=10)
    >>> [p.due(i, t) for i, t in enumerate([1000.0, 1010.0, None, 1005.0, 1030.0])]
    [0.0, 1.0, 1.0, 1.0, 3.0]
    >>> Pacer().due(7, 123.0)
    0.0
    """

    rate: float | None = None
    speed: float | None = None
    _origin: float | None = field(default=None, init=False)
    _last: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.rate is not None and self.speed is not None:
            raise ValueError("choose --rate or --speed, not both")
        for name in ("rate", "speed"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"--{name} must be > 0, got {value:g}")

    def due(self, index: int, recorded_at: float | None) -> float:
        """Seconds after the start at which event number ``index`` (from 0) is due."""
        if self.rate is not None:
            return index / self.rate
        if self.speed is None or recorded_at is None:
            return self._last
        if self._origin is None:
            self._origin = recorded_at
        self._last = max(self._last, (recorded_at - self._origin) / self.speed)
        return self._last


def progress_bar(done: int, total: int | None, sent: int, bad: int, elapsed: float, width: int = 30) -> str:
    """The one-line bar redrawn on a terminal.

    >>> progress_bar(50, 200, 48, 2, 5.0, width=10)
    '[##--------]  25% 50/200 lines, 48 sent, 2 bad, 9.6 ev/s, eta 15s'
    >>> progress_bar(3, None, 3, 0, 0.0, width=10)
    '3 lines, 3 sent, 0 bad'
    """
    rate = sent / elapsed if elapsed > 0 else None
    counts = f"{sent} sent, {bad} bad" + (f", {rate:.1f} ev/s" if rate else "")
    if not total:
        return f"{done} lines, {counts}"
    filled = min(width, int(width * done / total))
    eta = f", eta {(total - done) * elapsed / done:.0f}s" if done and elapsed > 0 and done < total else ""
    return f"[{'#' * filled}{'-' * (width - filled)}] {100 * done / total:3.0f}% {done}/{total} lines, {counts}{eta}"


def progress_line(done: int, total: int | None, sent: int, bad: int, elapsed: float) -> str:
    """A periodic line for logs (stderr is not a terminal).

    >>> progress_line(50, 200, 48, 2, 5.0)
    'replay: 50/200 lines, 48 sent, 2 bad, 9.6 ev/s'
    """
    rate = f", {sent / elapsed:.1f} ev/s" if elapsed > 0 else ""
    of = f"/{total}" if total else ""
    return f"replay: {done}{of} lines, {sent} sent, {bad} bad{rate}"


@dataclass
class Progress:
    """Whether to print now: a bar at most ``bar_every`` seconds apart on a
    terminal, a line every ``line_every`` seconds otherwise.

    >>> p = Progress(tty=False, line_every=5.0)
    >>> [p.should_print(t) for t in (0.5, 4.9, 5.0, 7.0, 10.2)]
    [False, False, True, False, True]
    """

    tty: bool
    line_every: float = 5.0
    bar_every: float = 0.1
    _next: float | None = field(default=None, init=False)

    def should_print(self, elapsed: float) -> bool:
        every = self.bar_every if self.tty else self.line_every
        if self._next is None:
            self._next = every
        if elapsed < self._next:
            return False
        while self._next <= elapsed:
            self._next += every
        return True
