"""Worker processes for linting many files: a map that never outlives its caller and never hangs.

A small pool of our own rather than concurrent.futures: ProcessPoolExecutor feeds its workers
from helper threads, and when one of those cannot start (RLIMIT_NPROC counts threads too) it dies
alone and the caller waits for ever. Here the parent has no thread: each worker has a pipe, the
parent hands out items and waits on the pipes and the workers' sentinels together, so a worker
that cannot be started, or dies, is seen at once.

Ctrl-C in a terminal sends SIGINT to the whole foreground process group, workers included: each
would print its own KeyboardInterrupt traceback. So workers ignore SIGINT and die quietly on
SIGTERM, and the parent alone answers an interrupt: it terminates every worker (SIGTERM, then
SIGKILL for one that lingers) before the exception goes on up. Workers are started with SIGINT
and SIGTERM blocked, so that no signal reaches one before it has set itself up.

Any failure of the pool itself (a fork refused, no pipes left, a worker killed) raises NoWorkers
once every worker is gone: the caller then does the work in its own process.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

from initlint.interrupt import SIGNALS, deferred

_GRACE_SECONDS = 3.0  # for a terminated worker to go before it is killed
_AHEAD = 2  # items a worker holds at once


class NoWorkers(Exception):
    """Worker processes could not be started or kept; do the work in this process."""


def map_ordered(function: Callable[[Any], Any], items: Sequence[Any], jobs: int) -> List[Any]:
    """`[function(item) for item in items]` across `jobs` worker processes, in order. An exception
    `function` raises in a worker is raised here."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context()
    started: List[Tuple[Any, Any]] = []  # (process, the parent's end of its pipe)
    try:
        try:
            with deferred():
                for _ in range(min(jobs, len(items))):
                    mine, theirs = context.Pipe()
                    # The parent's ends so far: a forked worker inherits them, and must close them,
                    # or a parent killed outright would leave its workers waiting on open pipes.
                    ends = tuple(end for _, end in started) + (mine,)
                    process = context.Process(target=_serve, args=(function, theirs, ends), daemon=True)
                    started.append((process, mine))
                    process.start()
                    theirs.close()
        except (OSError, RuntimeError, ValueError) as error:  # fork: EAGAIN, ENOMEM; no pipes left
            raise NoWorkers(str(error)) from error
        return _dispatch(started, items, wait)
    finally:
        _stop([process for process, _ in started])


def _dispatch(started: List[Tuple[Any, Any]], items: Sequence[Any], wait: Callable[..., List[Any]]) -> List[Any]:
    """Hand out the items to the workers, _AHEAD at a time each (the next item is there when one
    is done: no worker waits on the parent); collect the results."""
    results: List[Any] = [None] * len(items)
    queue = iter(enumerate(items))
    owner = {connection: process for process, connection in started}
    waiting = dict.fromkeys(owner, 0)  # items sent to each worker whose result is not back yet
    for connection in owner:
        for _ in range(_AHEAD):
            _give(connection, queue, waiting)
    while any(waiting.values()):
        busy = [connection for connection, count in waiting.items() if count]
        sentinels = {owner[connection].sentinel for connection in busy}
        for ready in wait([*busy, *sentinels]):
            if ready in sentinels:
                continue  # a worker's death shows on its pipe too (its end of it is closed)
            try:
                index, ok, value = ready.recv()
            except (EOFError, OSError) as error:
                raise NoWorkers(f"a worker process died ({error or 'no result'})") from None
            if not ok:
                raise value
            results[index] = value
            waiting[ready] -= 1
            _give(ready, queue, waiting)
    for connection in owner:  # (each leaves on this, or on the end of its pipe)
        with contextlib.suppress(OSError):
            connection.send(None)
    return results


def _give(connection: Any, queue: Any, waiting: Dict[Any, int]) -> None:
    """The next item, if any, to a worker."""
    item = next(queue, None)
    if item is None:
        return
    try:
        connection.send(item)
    except OSError as error:  # its end is gone: it died
        raise NoWorkers(f"a worker process died ({error})") from None
    waiting[connection] += 1


def _serve(function: Callable[[Any], Any], connection: Any, parent_ends: Tuple[Any, ...] = ()) -> None:
    """A worker: leave interrupts to the parent, then `function` every item sent until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    for end in parent_ends:  # copies a fork made: with them closed, the parent's death ends the pipe
        end.close()
    while True:
        try:
            work = connection.recv()
        except EOFError:  # the parent is gone
            return
        if work is None:
            return
        index, item = work
        try:
            reply = (index, True, function(item))
        except Exception as error:  # noqa: BLE001 - raised again in the parent
            reply = (index, False, error)
        try:
            try:
                connection.send(reply)
            except OSError:
                raise
            except Exception as error:  # noqa: BLE001 - an unpicklable exception, say
                connection.send((index, False, RuntimeError(f"{type(error).__name__}: {error}")))
        except OSError:  # the parent is gone (killed): nobody to answer
            return


def _stop(processes: List[Any]) -> None:
    """Every worker gone: those still running are terminated, then killed if they linger."""
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_alive():
                process.terminate()
    deadline = time.monotonic() + _GRACE_SECONDS
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)
