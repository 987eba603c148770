"""The sweep driver: validate every point, skip the ones already in the store, run the rest on
Dask (a LocalCluster sized to the machine, or an existing cluster) and record each result in
the store as it arrives. Only this process writes the store."""
from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..fileio import check_output_dir, check_output_file
from .spec import Point, SweepSpec, expand_points, load_spec
from .store import ResultStore
from .worker import DEFAULT_RUNNER, RunnerNotFound, check_runner, resolve_runner, run_point


@dataclass
class SweepReport:
    name: str
    db: Path
    points: int = 0            # unique points in the spec
    skipped: int = 0           # already in the store
    skipped_failed: int = 0    # of those, recorded with status error
    ran: int = 0               # recorded by this run
    ok: int = 0
    failed: int = 0            # runner raised: recorded with its error
    lost: list = field(default_factory=list)  # (label, why): not recorded, rerun next time
    duplicates: list = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def complete(self) -> bool:
        """Every point of the spec has a result, and it is a success."""
        return not self.lost and not self.failed and not self.skipped_failed

    def line(self) -> str:
        parts = [f"{self.points} points", f"{self.skipped} already done", f"{self.ok} ran ok"]
        if self.skipped_failed:
            parts[1] += f" ({self.skipped_failed} of them failed; --retry-failed reruns them)"
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.lost:
            parts.append(f"{len(self.lost)} did not finish (run again to retry them)")
        return f"sweep {self.name}: " + ", ".join(parts) + f" in {self.wall_s:.1f} s; results in {self.db}"


def default_db(spec: SweepSpec) -> Path:
    if spec.path is not None:
        return spec.path.with_name(spec.path.stem + ".sweep.db")
    return Path.cwd() / f"{spec.name}.sweep.db"


def runs_dir_for(db: Path) -> Path:
    return db.with_name(db.stem + "-runs")


def plan(spec, db=None, base_dir=None) -> tuple[SweepSpec, list[Point], list, dict[str, str], Path]:
    """Load and validate a spec and read what the store already holds (without creating it).
    Returns (spec, points, duplicates, status by hash, db path)."""
    spec = load_spec(spec, base_dir)
    points, dups = expand_points(spec)
    db = Path(db) if db is not None else default_db(spec)
    statuses = {}
    if db.is_file():
        with ResultStore(db, create=False) as store:
            statuses = store.statuses()
    return spec, points, dups, statuses, db


def run_sweep(spec, *, db=None, workers: int | None = None, scheduler: str | None = None,
              client=None, point_runner: str = DEFAULT_RUNNER, processes: bool = True,
              threads_per_worker: int = 1, retry_failed: bool = False, runs_dir=None,
              progress: bool = True, base_dir=None, stream=None,
              connect_timeout: str = "20s") -> SweepReport:
    """Run every point of ``spec`` (a YAML path, a dict or a SweepSpec) that ``db`` lacks.

    workers/processes/threads_per_worker size the LocalCluster started when neither
    ``scheduler`` (an address such as ``tcp://host:8786``) nor ``client`` (a
    ``distributed.Client``) is given. Points whose runner raises are recorded with status
    "error" (rerun only with ``retry_failed``); points lost to the infrastructure (a killed
    worker, a lost scheduler) are not recorded, so running again retries them.
    """
    t0 = time.perf_counter()
    stream = stream if stream is not None else sys.stderr
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError("--workers", "workers", "a positive integer", workers)
    if threads_per_worker < 1:
        raise InputError("--threads-per-worker", "threads_per_worker", "a positive integer",
                         threads_per_worker)
    if scheduler and (workers is not None or client is not None):
        raise InputError("--scheduler", scheduler, "no --workers with --scheduler (the "
                         "cluster brings its own workers)", workers)
    spec, points, dups, _, db = plan(spec, db, base_dir)
    try:
        resolve_runner(point_runner)
    except RunnerNotFound as e:
        raise InputError("--runner", point_runner, "an importable point runner "
                         "(module:function)", str(e)) from None
    report = SweepReport(spec.name, db, points=len(points), duplicates=dups)
    for label, kept in dups:
        print(f"note: point {label} resolves to the same config as {kept}; run once",
              file=stream)
    # absolute: workers of an existing cluster need not share our working directory
    runs = (Path(runs_dir) if runs_dir is not None else runs_dir_for(db)).resolve()
    check_output_file(db, "--db")          # both before the database is created
    check_output_dir(runs, "--runs-dir")
    fresh = not Path(db).exists()
    try:
        with ResultStore(db) as store:
            store.set_spec_points(spec.name, points)
            statuses = store.statuses()
            skip = {"ok", "error"} - ({"error"} if retry_failed else set())
            todo = [p for p in points if statuses.get(p.hash) not in skip]
            report.skipped = len(points) - len(todo)
            todo_hashes = {p.hash for p in todo}
            report.skipped_failed = sum(statuses.get(p.hash) == "error" for p in points
                                        if p.hash not in todo_hashes)
            _clean_partial_outputs(runs)
            if todo:
                bar = Progress(len(points), report.skipped, stream, progress)
                with _dask_client(client, scheduler, workers, processes, threads_per_worker,
                                  len(todo), connect_timeout) as cl:
                    _preflight(cl, point_runner, scheduler)
                    _run_points(cl, spec, todo, point_runner, runs, db, store, report, bar)
                bar.close()
    except InputError:
        if fresh:   # found once the database existed (a bad --scheduler): leave none
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        raise
    report.wall_s = time.perf_counter() - t0
    return report


def _run_points(client, spec, todo, runner, runs, db, store, report, bar) -> None:
    from dask.distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    futures = {}
    for p in todo:
        out = runs / p.hash[:16]
        f = client.submit(run_point, runner, spec.arch, spec.workload, list(p.overrides),
                          str(out), key=f"neurosim-point-{p.hash[:16]}-{tag}", pure=False)
        futures[f] = p
    pending = set(futures)
    try:
        for f in as_completed(futures):
            pending.discard(f)
            p = futures[f]
            try:
                res = f.result()
            except Exception as e:  # noqa: BLE001 - the infrastructure lost this point
                why = _why_lost(e)
                report.lost.append((p.label, why))
                bar.point(p, "lost", why)
                continue
            if res.get("stats_path"):
                res["stats_path"] = _relative_to(res["stats_path"], db.parent)
            store.record(spec.name, p, res)
            report.ran += 1
            if res["status"] == "ok":
                report.ok += 1
            else:
                report.failed += 1
            bar.point(p, res["status"], res.get("error"), res.get("wall_s"))
    finally:
        if pending:  # interrupted: stop the cluster computing points nobody will record
            try:
                client.cancel(list(pending), force=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass


def _why_lost(e: BaseException) -> str:
    if getattr(e, "reason", None):  # FutureCancelledError: e.g. scheduler-connection-lost
        return f"cancelled ({e.reason})"
    text = " ".join(f"{type(e).__name__}: {e}".split())
    return text if len(text) <= 200 else text[:197] + "..."


def _relative_to(path: str, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _clean_partial_outputs(runs: Path) -> None:
    """Output directories of points killed mid-run (renamed into place only on success)."""
    if runs.is_dir():
        import shutil

        for d in runs.glob("*.tmp-*"):
            shutil.rmtree(d, ignore_errors=True)


@contextmanager
def _dask_client(client, scheduler, workers, processes, threads_per_worker, n_todo,
                 connect_timeout="20s"):
    if client is not None:
        yield client
        return
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            cl = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError("--scheduler", scheduler, "the address of a running Dask "
                             "scheduler (tcp://host:port)", " ".join(str(e).split())) from None
        # A lost scheduler cancels the pending points, which the progress output reports;
        # the client's own reconnect tracebacks would only bury that line.
        log = logging.getLogger("distributed.client")
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            yield cl
        finally:
            cl.close()
            log.setLevel(level)
        return
    n = workers or max(1, min(_cpus(), n_todo))
    # A simulation may hold the GIL (numba) for minutes: do not let the scheduler declare a
    # busy local worker dead for missing heartbeats; the nanny notices real deaths.
    with dask.config.set({"distributed.scheduler.worker-ttl": None}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=threads_per_worker,
                               processes=processes, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        try:
            cl = Client(cluster)
            try:
                yield cl
            finally:
                cl.close()
        finally:
            cluster.close()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _preflight(client, runner: str, scheduler) -> None:
    """Every worker must be able to import the point runner."""
    problems = {w: why for w, why in client.run(check_runner, runner).items() if why}
    if problems:
        w, why = next(iter(problems.items()))
        raise InputError("--runner", runner, "a point runner importable on every worker",
                         f"{why} on {w}")


class Progress:
    """Progress across points on stderr: a bar on a terminal (:mod:`neurosim.progress`), and
    a line per point finished (on a terminal above the bar; elsewhere, in logs and batch
    jobs, the lines alone)."""

    def __init__(self, total: int, done: int, stream, enabled: bool = True):
        from ..progress import progress_bar

        self.total, self.done, self.stream, self.enabled = total, done, stream, enabled
        self.failed = self.lost = 0
        self._last_lost = None
        self.bar = (progress_bar(total, "points", "point", stream, initial=done) if enabled
                    else None)

    def point(self, p: Point, status: str, error=None, wall_s=None) -> None:
        if status == "lost":
            self.lost += 1
            if error == self._last_lost:  # e.g. every pending point of a lost scheduler
                return
            self._last_lost = error
        else:
            self.done += 1
            self.failed += status == "error"
        if not self.enabled:
            return
        took = f" ({wall_s:.1f} s)" if wall_s is not None else ""
        line = f"[{self.done:>{len(str(self.total))}}/{self.total}] {status:<5} {p.label}{took}"
        if error:
            line += f": {error}"
        if status == "lost":
            line += " (and any further points lost for the same reason)"
        if self.bar.disable:
            self.stream.write(line + "\n")
            return
        self.bar.write(line, file=self.stream)
        if status != "lost":
            self.bar.update(1)
        if self.failed:
            self.bar.set_postfix_str(f"{self.failed} failed")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
