"""The tests' `cli` (a child forked from the test process) behaves as `python -m neurosim`
in a new interpreter: the same exit code, stdout and stderr."""
import warnings

import neurosim.cli
from conftest import run_cli, run_cli_fresh


def test_forked_and_fresh_commands_print_the_same():
    for args in (("config", "show", "no-such.yaml"), ("--help",),
                 ("run", "paper-20core", "mlp-digits", "--set", "chip.cores=0"),
                 ("trace", "info", "workloads/convnet-digits.yaml")):
        assert run_cli(*args) == run_cli_fresh(*args), args


def test_a_warning_reaches_stderr_and_an_uncaught_error_exits_1(monkeypatch):
    """pytest records warnings in this process; the child prints them, as an interpreter
    does (a command that warns breaks its one-line error output)."""
    def warns(argv=None):
        warnings.warn("careful", UserWarning)
        print("out")
        return 2
    monkeypatch.setattr(neurosim.cli, "main", warns)
    rc, out, err = run_cli("x")
    assert (rc, out) == (2, "out\n") and "UserWarning: careful" in err

    def fails(argv=None):
        raise ValueError("boom")
    monkeypatch.setattr(neurosim.cli, "main", fails)
    rc, out, err = run_cli("x")
    assert rc == 1 and "Traceback" in err and err.rstrip().endswith("ValueError: boom")
