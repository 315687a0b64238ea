"""Run a function in a child process whose memory and time are bounded, so that whatever an input
does to a native reader (calamine laying out billions of cells, an abort in Rust, a segfault, a
loop) it takes only that process with it. The server gets the result, the function's
DomainError, or one Chinese sentence when the child died or ran out of time.

Children come from a forkserver (a clean process that preloads the readers), never a fork of the
server itself: the server has threads and an event loop, which a fork would copy half-held. They
are waited for on a pool of their own, `readers` at a time: a queue of big sheets neither takes
the threads other requests use nor adds up to more memory than `readers` children may hold."""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from resettle.errors import DomainError
from resettle.sheet_bounds import Limits

T = TypeVar("T")
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["pandas", "pyarrow.csv", "python_calamine", "resettle.sheets"])
_waiters: dict[int, ThreadPoolExecutor] = {}


def _child(conn, fn: Callable[..., T], args: tuple, memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        outcome = ("ok", fn(*args))
    except DomainError as exc:
        outcome = ("refused", exc.message)
    except Exception:  # MemoryError, or whatever else a damaged file raises: one sentence too
        outcome = ("died", None)
    conn.send(outcome)
    conn.close()


def _run(fn: Callable[..., T], args: tuple, limits: Limits, died: str) -> T:
    receive, send = _context.Pipe(duplex=False)
    child = _context.Process(target=_child, args=(send, fn, args, limits.memory), daemon=True)
    child.start()
    send.close()  # the child holds the only sending end: its death is an EOF here
    try:
        if not receive.poll(limits.seconds):
            raise DomainError(died)
        kind, value = receive.recv()  # before join: a big result would block the child's send
    except (EOFError, OSError):
        raise DomainError(died) from None
    finally:
        receive.close()
        child.kill()
        child.join()
    if kind == "ok":
        return value
    raise DomainError(value if kind == "refused" else died)


async def run(fn: Callable[..., T], args: tuple, *, limits: Limits, died: str) -> T:
    """fn(*args) in a child bounded by `limits` (memory, seconds; `readers` at once); `died` is
    the sentence when the child did not come back. fn, args and the result cross by pickle."""
    waiters = _waiters.setdefault(limits.readers, ThreadPoolExecutor(limits.readers, "sheet-reader"))
    return await asyncio.get_running_loop().run_in_executor(waiters, _run, fn, args, limits, died)
