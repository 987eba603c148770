"""YAML parsing for the bundled tables and the user's files: libyaml's C parser where PyYAML
has it (about ten times faster than PyYAML's pure-Python one, which took ~0.2 s of every
command's start: docs/performance.md, "Posting a tile's messages in one batch"), the
pure-Python one otherwise; both build the same values (same safe constructor and resolver)."""
from __future__ import annotations

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """``yaml.safe_load`` with :data:`SafeLoader`."""
    return yaml.load(text, Loader=SafeLoader)


__all__ = ["SafeLoader", "safe_load"]
