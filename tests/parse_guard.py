"""``ast.parse`` with no garbage collection starting inside it, for the whole test session.

CPython 3.11 keeps the AST constructor's recursion depth in state that every thread shares
(seen here on 3.11.7). The constructor is C code that keeps the GIL, except where one of its
allocations starts a collection: finalizers, weakref callbacks and gc callbacks are Python
code, and there the thread can hand the GIL to another one (or run such code itself). If that
code builds a tree too, it resets the shared depth, and the first parse raises ``SystemError:
AST constructor recursion depth mismatch`` for a tree it built well. In this suite the parties
are everywhere: Hypothesis parses sources (for constants and digests) in whatever thread runs
it, 3.11 parses a segment of each traceback line it formats (the carets), and servers run in
threads of their own. A clean-clone run failed once so, in the property test's thread.

Guarded, a parse first turns automatic collection off and turns it back on when the last
parse running in any thread ends, so no constructor ever runs Python code and no two trees
are built at once. Nothing is caught or retried: every error is raised as the interpreter
raises it. Every caller that goes through ``ast.parse`` (``inspect``, ``traceback``,
Hypothesis, pytest) is covered; ``install`` is called by ``tests/conftest.py``."""

from __future__ import annotations

import ast
import functools
import gc
import threading
from typing import Any

unguarded = ast.parse
_lock = threading.RLock()  # reentrant: a finalizer run before the parse may parse too
_parsing = 0
_enable_after = False


@functools.wraps(unguarded)
def parse(*args: Any, **kwargs: Any) -> Any:
    global _parsing, _enable_after
    with _lock:
        if _parsing == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _parsing += 1
    try:
        return unguarded(*args, **kwargs)
    finally:
        with _lock:
            _parsing -= 1
            if _parsing == 0 and _enable_after:
                gc.enable()


def install() -> None:
    ast.parse = parse
