"""The one progress display: nothing but plain lines when stderr is not a terminal."""
from __future__ import annotations

import io
from types import SimpleNamespace

from neurosim.progress import TileProgress
from neurosim.sweep.driver import Progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_tile_progress_is_quiet_off_a_terminal():
    out = io.StringIO()
    bar = TileProgress(out)
    for done in range(0, 101, 10):
        bar(done, 100)
    bar.close()
    assert out.getvalue() == ""


def test_sweep_progress_lines_off_a_terminal_and_a_bar_on_one():
    point = SimpleNamespace(label="chip.cores=2")
    plain = io.StringIO()
    p = Progress(2, 0, plain)
    p.point(point, "ok", wall_s=1.0)
    p.point(point, "error", error="boom")
    p.close()
    assert plain.getvalue() == ("[1/2] ok    chip.cores=2 (1.0 s)\n"
                                "[2/2] error chip.cores=2: boom\n")
    tty = FakeTerminal()
    p = Progress(2, 0, tty)
    p.point(point, "ok", wall_s=1.0)
    p.close()
    text = tty.getvalue()
    assert "[1/2] ok    chip.cores=2 (1.0 s)" in text and "points" in text and "\r" in text
