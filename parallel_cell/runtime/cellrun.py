"""Running a compiled cell: exec its statements, eval its trailing expression, and a
cell with top-level ``await`` in an event loop of its own (the running thread's).

Compiling stays with each side: the kernel transforms and compiles with IPython
(``executor.py``), a Dask worker with plain ``compile`` (``worker.py``); both run the
result here. Standard library only and no imports of the runtime: a Dask worker builds
this file too, as the module ``_parallel_cell_worker_cellrun``.
"""

import asyncio

NO_RESULT = object()  # a cell without a trailing expression
CO_COROUTINE = 0x80  # inspect.CO_COROUTINE: the code has top-level await


def is_async(code):
    """Whether compiled ``code`` (or None) has top-level ``await``."""
    return code is not None and bool(code.co_flags & CO_COROUTINE)


def run(body, expr, glob, loc=None, on_loop=None):
    """Run ``body`` (code compiled for ``exec``), then ``expr`` (for ``eval``, or None)
    in ``glob``/``loc``; returns the expression's value, or NO_RESULT without one.

    With top-level ``await`` the cell runs in a new event loop, set as this thread's
    while it runs and handed to ``on_loop`` first (so that a kill can cancel its tasks).
    Tasks the cell leaves behind are cancelled and awaited at its end, as ``asyncio.run``
    does, then the loop is closed.
    """
    if loc is None:
        loc = glob
    if not (is_async(body) or is_async(expr)):
        exec(body, glob, loc)
        return NO_RESULT if expr is None else eval(expr, glob, loc)

    async def main():
        coro = eval(body, glob, loc)
        if coro is not None:
            await coro
        if expr is None:
            return NO_RESULT
        value = eval(expr, glob, loc)
        if is_async(expr):
            value = await value
        return value

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        if on_loop is not None:
            on_loop(loop)
        return loop.run_until_complete(main())
    finally:
        try:
            _finish(loop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _finish(loop):
    """What ``asyncio.run`` does before closing: leftover tasks cancelled and awaited
    (an error one of them had is reported to the loop's handler), async generators shut
    down."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception in a task the cell left running",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
    loop.run_until_complete(loop.shutdown_asyncgens())
