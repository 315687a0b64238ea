"""Run a function in a child process whose memory is bounded, so that whatever an input does to
a native reader (calamine allocating for a cell at XFD1048576, an abort in Rust, a segfault) it
takes only that process with it. The server gets the result, the function's DomainError, or one
Chinese sentence when the child died.

Children come from a forkserver (a clean process that preloads the readers), never a fork of the
server itself: the server has threads and an event loop, which a fork would copy half-held."""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from resettle.errors import DomainError

T = TypeVar("T")
_PRELOAD = ["pandas", "pyarrow.csv", "python_calamine", "resettle.sheets"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(_PRELOAD)


def _bound(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _call(fn: Callable[..., T], args: tuple) -> T:
    try:
        return fn(*args)
    except MemoryError:
        raise DomainError("文件需要的内存超出上限，未能读取") from None


def _run(fn: Callable[..., T], args: tuple, memory: int, died: str) -> T:
    pool = ProcessPoolExecutor(1, mp_context=_context, initializer=_bound, initargs=(memory,))
    try:
        return pool.submit(_call, fn, args).result()
    except BrokenProcessPool:
        raise DomainError(died) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def run(fn: Callable[..., T], args: tuple, *, memory: int, died: str) -> T:
    """fn(*args) in a child limited to `memory` bytes of address space; `died` is the sentence
    when the child did not come back. fn, args and the result cross by pickle."""
    return await asyncio.to_thread(_run, fn, args, memory, died)
