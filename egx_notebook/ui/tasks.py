"""Run the Explorer's long calls off the kernel's main thread, one at a time, with progress and error reports.

The kernel keeps handling the map's messages (pan, zoom, draw) while a backend works, so the map never
freezes. A job is a function ``job(progress)`` returning an ``apply()`` callable; ``apply`` changes the
Explorer's state only after the whole job succeeded, so a failing backend cannot lose or half-change the
prompts and results already made.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class Busy(RuntimeError):
    """Another job is still running."""


class Runner:
    """One job at a time, in a worker thread (``threaded=True``) or inline.

    Callbacks: ``on_start(name)``, ``on_progress(step, total, message)``, ``on_done(name, value)`` and
    ``on_error(name, exc, tb_text)``."""

    def __init__(self, *, threaded: bool = True, on_start: Callable | None = None,
                 on_progress: Callable | None = None, on_done: Callable | None = None,
                 on_error: Callable | None = None):
        self.threaded = threaded
        self.on_start = on_start or (lambda name: None)
        self.on_progress = on_progress or (lambda step, total, message: None)
        self.on_done = on_done or (lambda name, value: None)
        self.on_error = on_error or (lambda name, exc, tb: None)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="egx-explorer") if threaded else None
        self._lock = threading.Lock()
        self._future: Future | None = None
        self.running: str | None = None

    @property
    def busy(self) -> bool:
        return self.running is not None

    def submit(self, name: str, job: Callable, *, threaded: bool | None = None, reraise: bool = False):
        """Run ``job(progress) -> apply`` then ``apply()``. In a thread: returns a Future of apply's value; inline:
        returns the value (errors are reported, and re-raised when ``reraise``)."""
        with self._lock:
            if self.running is not None:
                raise Busy(f"{self.running} is still running; wait for it to finish")
            self.running = name
        self.on_start(name)
        if (self.threaded if threaded is None else threaded) and self._executor is not None:
            self._future = self._executor.submit(self._run, name, job, False)
            return self._future
        return self._run(name, job, reraise)

    def _run(self, name: str, job: Callable, reraise: bool):
        try:
            apply = job(self.on_progress)
            value = apply() if callable(apply) else apply
        except Exception as exc:
            self.running = None
            self.on_error(name, exc, traceback.format_exc())
            if reraise:
                raise
            return None
        self.running = None
        self.on_done(name, value)
        return value

    def wait(self, timeout: float | None = None):
        """Block until the current threaded job (if any) has finished; returns its value."""
        future = self._future
        return None if future is None else future.result(timeout)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
