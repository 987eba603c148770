"""User-facing input errors.

Every problem with something a user wrote (arch config, workload, trace, sweep spec,
command-line override) is raised as :class:`InputError`. The CLI turns it into one line on
stderr and exit code 2, never a traceback. The message always names the source (file or
``--set``), the key path inside it and what was expected.
"""
from __future__ import annotations

MISSING = object()


class InputError(Exception):
    """A bad user input: ``<source>: <key>: expected <expected>[, got <got>]``."""

    def __init__(self, source: str, key: str, expected: str, got=MISSING):
        self.source = str(source)
        self.key = key
        self.expected = expected
        self.got = got
        super().__init__(str(self))

    def __str__(self) -> str:
        msg = f"{self.source}: {self.key or '<top>'}: expected {self.expected}"
        if self.got is not MISSING:
            msg += f", got {_short(self.got)}"
        return msg.translate(_ESCAPE_BREAKS)  # one line, whatever a source or key holds


class DoesNotFit(InputError):
    """The mapper cannot place a workload's working set in the config's SRAM: the key is the
    buffer (``core.sram.B.size_kib``) and the expectation the size it needs. A property of
    the pair, not a malformed input: studies over configs (the reproduction, the
    sensitivity study, ``compare-gpu --all``) list it as a row instead of stopping."""

    @classmethod
    def of(cls, error: InputError) -> "DoesNotFit":
        return cls(error.source, error.key, error.expected, error.got)


# every character str.splitlines() breaks at, shown escaped
_ESCAPE_BREAKS = {ord(c): c.encode("unicode_escape").decode()
                  for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    text = " ".join(text.split())  # one line, always
    return text if len(text) <= limit else text[: limit - 3] + "..."
