"""A plain-text progress bar on stderr, so stdout stays clean for the result table."""

from __future__ import annotations

from typing import TextIO

_WIDTH = 30


class Progress:
    """Redraws one line with ``\\r``; silent unless enabled, so pipes and logs get no noise."""

    def __init__(self, stream: TextIO, total: int, label: str, *, enabled: bool) -> None:
        self._stream = stream
        self._total = max(total, 1)
        self._label = label
        self._enabled = enabled
        self._done = 0

    @classmethod
    def for_stream(cls, stream: TextIO, total: int, label: str, *, forced: bool) -> Progress:
        """Shown when forced (``--progress``) or when the stream is an interactive terminal."""
        is_tty = getattr(stream, "isatty", lambda: False)()
        return cls(stream, total, label, enabled=forced or is_tty)

    def advance(self, detail: str = "") -> None:
        self._done += 1
        if not self._enabled:
            return
        filled = _WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {self._done}/{self._total} {detail}".rstrip())
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()
