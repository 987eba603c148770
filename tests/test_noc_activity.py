"""benchmarks/noc_activity.py instruments a copy of the NoC kernel by text edits: each must
still find the code it instruments (one had drifted from noc.py unnoticed until it ran)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("noc_activity",
                                               ROOT / "benchmarks" / "noc_activity.py")
noc_activity = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(noc_activity)


def test_every_edit_finds_its_code_once():
    for rel, old, new in noc_activity.EDITS:
        assert (ROOT / "neurosim" / rel).read_text().count(old) == 1, old.splitlines()[0]
        assert new != old
