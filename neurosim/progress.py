"""The one progress display (tqdm, on stderr): drawn only when the stream is a terminal, so
logs and pipes get no control characters."""
from __future__ import annotations

import sys


def progress_bar(total: int, desc: str, unit: str, stream=None, initial: int = 0,
                 delay: float = 0.0):
    """A tqdm bar over ``total`` items (``initial`` already done), shown after ``delay``
    seconds and only on a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream or sys.stderr,
                disable=None, delay=delay, leave=False, dynamic_ncols=True)


class TileProgress:
    """``progress(tiles_done, tiles_total)`` callback of a simulation, as a bar that appears
    once the run has taken a few seconds."""

    DELAY_S = 2.0

    def __init__(self, stream=None):
        self.stream = stream
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = progress_bar(total, "simulating", "tile", self.stream,
                                    delay=self.DELAY_S)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["progress_bar", "TileProgress"]
