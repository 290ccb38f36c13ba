"""The guard of ``ast.parse`` (``tests/parse_guard.py``): no collection starts inside a parse,
in any thread, while without it one does (which is how two trees come to be built at once)."""

from __future__ import annotations

import ast
import gc
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests import parse_guard

SOURCE = inspect.getsource(inspect)  # long enough to set off collections while it is built


@contextmanager
def on_each_collection(act: Callable[[], object]) -> Iterator[None]:
    """``act`` run as each garbage collection starts, while the block runs."""

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            act()

    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)


def collections_during(parse: Callable[[str], ast.Module]) -> int:
    started: list[None] = []
    with on_each_collection(lambda: started.append(None)):
        parse(SOURCE)
    return len(started)


def test_the_suite_parses_through_the_guard() -> None:
    assert ast.parse is parse_guard.parse


def test_a_parse_sets_off_collections_unguarded_and_none_guarded() -> None:
    assert gc.isenabled()
    assert collections_during(parse_guard.unguarded) > 0
    assert collections_during(ast.parse) == 0
    assert gc.isenabled()


def test_a_tree_built_by_code_a_collection_runs_does_not_break_the_parse_around_it() -> None:
    """On an interpreter with the race, this raises SystemError without the guard."""
    inner: list[ast.Module] = []
    with on_each_collection(lambda: inner.append(ast.parse("x[1] + y.z(3)"))):
        tree = ast.parse(SOURCE)
        gc.collect()
    assert isinstance(tree, ast.Module) and tree.body
    assert inner, "the collection after the parse ran the callback"


def test_collection_comes_back_only_when_the_last_parse_of_any_thread_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []
    build = parse_guard.unguarded

    def held(source: str) -> ast.Module:
        """The other thread's parse stays inside the guard until the test lets it go."""
        if source == "held = 1":
            inside.set()
            assert release.wait(10)
        return build(source)

    monkeypatch.setattr(parse_guard, "unguarded", held)
    thread = threading.Thread(target=ast.parse, args=("held = 1",))
    thread.start()
    try:
        assert inside.wait(10)
        seen.append(gc.isenabled())  # the other thread is inside its parse
        ast.parse("b = 2")  # a parse here ends first
        seen.append(gc.isenabled())
    finally:
        release.set()
        thread.join(10)
    seen.append(gc.isenabled())
    assert seen == [False, False, True]
