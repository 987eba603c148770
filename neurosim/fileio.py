"""All-or-nothing file output: a command never leaves a half-written file or directory
behind, checks where it will write before it starts working, and honours the umask.

Temporary names carry the writing process's id (``.NAME.tmp-PID-XXXX``), so a later writer
can remove the ones whose process is gone (killed while writing) without touching those of a
writer still running beside it.
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import InputError

_TMP = ".tmp-"      # ".stats.json.tmp-1234-abcd.json": a file being written by process 1234
_OLD = ".old-"      # ".out.old-1234-abcd": an output directory being replaced by process 1234


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read once: reading it means setting it, which must not race
    with other threads creating files."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path, directory: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700; a finished output gets the mode the umask gives."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(directory, name: str) -> None:
    """Remove the temporaries of ``name`` in ``directory`` left by writers that have died."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for marker in (_TMP, _OLD):
        for p in directory.glob(f".{name}{marker}*"):
            pid = p.name[len(name) + 1 + len(marker):].split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)


def _tmp_prefix(name: str, marker: str = _TMP) -> str:
    return f".{name}{marker}{os.getpid()}-"


def atomic_write(path, write) -> Path:
    """Write ``path`` whole or not at all: ``write(tmp)`` fills a temporary file beside it
    (same suffix, so writers that infer the format from it work), which then replaces
    ``path``. On any error the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path.name),
                               suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        _publish_mode(tmp, directory=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_write` of a text file (UTF-8)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def directory_built_beside(out_dir, replaceable=None):
    """Build the directory ``out_dir`` whole or not at all: the ``with`` block fills the
    temporary directory it is given, built beside the target; when the block ends without an
    error that directory is renamed into place, else it is removed.

    At any moment (SIGKILL included) the target is either absent, the previous one, or
    complete. A previous directory is replaced only if it holds nothing but names in
    ``replaceable`` (checked before the block runs; None: whatever it holds)."""
    out = Path(out_dir)
    check_output_dir(out, replaceable=replaceable)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=_tmp_prefix(out.name)))
    try:
        yield tmp
        _publish_mode(tmp, directory=True)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=_tmp_prefix(out.name, _OLD)))
            os.rename(out, old / "d")   # from here until the next rename there is no target
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_directory(out_dir, files: dict, replaceable=None) -> list[Path]:
    """Write ``files`` (name -> text, or bytes for a binary file) as the directory ``out_dir``,
    whole or not at all (:func:`directory_built_beside`). A previous directory is replaced only
    if it holds nothing but names in ``replaceable`` (default: the names written now), so a
    user's own files are never deleted."""
    out = Path(out_dir)
    with directory_built_beside(out, set(replaceable or files) | set(files)) as tmp:
        for name, text in files.items():
            if isinstance(text, bytes):   # a binary file (a figure), as given
                (tmp / name).write_bytes(text)
            else:
                (tmp / name).write_text(text if text.endswith("\n") else text + "\n",
                                        encoding="utf-8")
            _publish_mode(tmp / name, directory=False)
    return [out / name for name in files]


# --------------------------------------------------------------------------- output checks


def _first_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    return p


_PROBE = "neurosim-probe"


def _can_create_in(directory: Path) -> bool:
    """Try it: permission bits say nothing to root, nor about read-only or virtual file
    systems (/proc). The probe is a temporary like the others (a killed prober's is removed
    by the next)."""
    clean_stale_temporaries(directory, _PROBE)
    try:
        os.rmdir(tempfile.mkdtemp(dir=directory, prefix=_tmp_prefix(_PROBE)))
    except OSError:
        return False
    return True


def _check_creatable(path: Path, source: str, what: str) -> None:
    """``path`` does not exist yet: its nearest existing ancestor must be a writable directory."""
    anc = _first_existing(path.absolute())
    if not anc.is_dir():
        raise InputError(source, str(path), f"a {what} path not under a regular file",
                         f"{anc} is a file")
    if not _can_create_in(anc):
        raise InputError(source, str(path), f"a {what} in a writable place",
                         f"{anc} is not writable")


def check_output_dir(path, source: str = "--out", replaceable=None) -> Path:
    """Fail now, before any work, if ``path`` cannot become an output directory: it must be
    absent (and creatable), or a writable directory holding nothing but ``replaceable``
    names (when given) and temporaries."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            kind = "a file" if path.is_file() else "not a directory"
            raise InputError(source, str(path), "a directory or a new path", kind)
        # the directory is replaced by renames in its parent, which is probed; it is not
        # probed itself: a probe killed there would be left inside the output
        if not (os.access(path, os.W_OK | os.X_OK) and _can_create_in(path.absolute().parent)):
            raise InputError(source, str(path), "a writable directory", "not writable")
        if replaceable is not None:
            ours = tuple(f".{n}." for n in replaceable)   # temporaries of older versions
            other = sorted(p.name for p in path.iterdir()
                           if not ((p.name in replaceable and p.is_file() and not p.is_symlink())
                                   or p.name.startswith(ours)))
            if other:
                raise InputError(source, str(path), "a new directory, an empty one or an "
                                 "earlier output of this command (whose files it replaces)",
                                 f"a directory with {other[0]}")
    else:
        _check_creatable(path, source, "directory")
    return path


def check_output_file(path, source: str = "--out") -> Path:
    """Fail now, before any work, if ``path`` cannot be written as a regular file."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        st = os.stat(path) if path.exists() else None
        if st is None or not stat.S_ISREG(st.st_mode):
            kind = "a directory" if path.is_dir() else "not a regular file"
            raise InputError(source, str(path), "a regular file or a new path", kind)
        if not _can_create_in(path.absolute().parent):
            raise InputError(source, str(path), "a file in a writable directory",
                             f"{path.parent} is not writable")
    else:
        _check_creatable(path, source, "file")
    return path


class OutputDir(str):
    """An argparse ``type`` for an output directory: the CLI checks it before running.
    ``OutputDir.holding(names)`` is the type of a directory written whole by
    :func:`write_directory`: an existing one may hold only those names."""

    replaceable = None

    @classmethod
    def holding(cls, names) -> type:
        return type("OutputDirOf", (cls,), {"replaceable": frozenset(names)})

    def check(self, source: str) -> None:
        check_output_dir(self, source, self.replaceable)


class OutputFile(str):
    """An argparse ``type`` for an output file: the CLI checks it before running."""

    def check(self, source: str) -> None:
        check_output_file(self, source)


def check_output_arguments(args) -> None:
    """Check every :class:`OutputDir`/:class:`OutputFile` value of parsed CLI arguments."""
    for dest, value in sorted(vars(args).items()):
        if isinstance(value, (OutputDir, OutputFile)):
            value.check("--" + dest.replace("_", "-"))
