"""Generated docs must match the code they are generated from."""
from neurosim.docs_gen import config_reference


def test_config_reference_is_current(root):
    committed = (root / "docs" / "config-reference.md").read_text()
    assert committed == config_reference(), (
        "docs/config-reference.md is stale: run "
        "`neurosim config reference --out docs/config-reference.md`")
