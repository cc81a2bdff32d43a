"""The bounded queue that runs torch for the web page: a few worker threads, a queue of fixed length.

Every piece of work that imports torch (a verification, a verified export, a calculator's check)
goes through :class:`Jobs`, so that ten open tabs wait their turn instead of running ten forward
passes at once. A full queue refuses new work at once (the page says "busy"); a job that a newer
request of the same tab supersedes is cancelled: dropped if it is still waiting, stopped at the
next layer if it is running (the pipeline's progress callback raises :class:`Cancelled`).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Cancelled(BaseException):
    """Raised inside a running job once it has been cancelled (from its progress callback).

    A BaseException: the verifier turns an ``Exception`` raised by torch into a mismatch; this passes through."""


class Busy(Exception):
    """The queue is full: the work is refused, not queued."""


Progress = Callable[[int, int], None]


@dataclass
class Job:
    """One piece of work: its state, its progress, and its result once done."""

    id: str
    client: str
    work: Callable[[Progress], Any]
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    result: Any = None
    error: BaseException | None = None
    created: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)
    cancel_requested: bool = False

    def progress(self, done: int, total: int) -> None:
        """The pipeline's progress callback: records the count, and stops a cancelled job."""
        self.done, self.total = done, total
        if self.cancel_requested:
            raise Cancelled

    def cancel(self) -> None:
        """Stop this job: dropped if still queued, stopped at the next layer if running."""
        self.cancel_requested = True

    def status(self) -> dict[str, Any]:
        """The JSON-able state the page polls."""
        return {"job": self.id, "state": self.state, "done": self.done, "total": self.total}


class Jobs:
    """``workers`` threads taking jobs from a queue of at most ``capacity`` waiting jobs."""

    KEEP = 120.0
    """Seconds a finished job's result is kept for the page to fetch."""

    def __init__(self, workers: int = 1, capacity: int = 8) -> None:
        self.capacity = capacity
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=capacity)
        self._jobs: dict[str, Job] = {}
        self._latest: dict[str, Job] = {}  # client -> its newest job
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._threads = [threading.Thread(target=self._work, name=f"cnncalc-web-{i}", daemon=True)
                         for i in range(max(1, workers))]  # fmt: skip
        for t in self._threads:
            t.start()

    def submit(self, work: Callable[[Progress], Any], client: str = "") -> Job:
        """Queue ``work(progress)``; a newer job of the same ``client`` cancels its older one. Raises :class:`Busy`."""
        with self._lock:
            self._forget_old()
            job = Job(f"j{next(self._ids)}", client, work)
            if client and client in self._latest:
                self._latest[client].cancel()
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise Busy(f"the verification queue is full ({self.capacity} waiting)") from None
            self._jobs[job.id] = job
            if client:
                self._latest[client] = job
            return job

    def get(self, job_id: str) -> Job | None:
        """A job by its id (None once forgotten)."""
        with self._lock:
            return self._jobs.get(job_id)

    def waiting(self) -> int:
        """How many jobs wait in the queue."""
        return self._queue.qsize()

    def close(self) -> None:
        """Cancel everything and let the workers end."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel()
        for _ in self._threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.finished.is_set() and now - job.created > self.KEEP:
                del self._jobs[job_id]
                if self._latest.get(job.client) is job:
                    del self._latest[job.client]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.cancel_requested:
                job.state = "cancelled"
                job.finished.set()
                continue
            job.state = "running"
            try:
                job.result = job.work(job.progress)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except BaseException as e:  # reported to whoever waits for the job; the worker goes on
                job.error = e
                job.state = "failed"
            finally:
                job.finished.set()
