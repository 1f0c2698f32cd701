"""Deferred imports: a module a dependency imports at start-up but our code never calls.

BeautifulSoup imports soupsieve (its CSS-selector engine) when it is imported, and
soupsieve compiles its selector grammar then: ~40-50 ms of every parsing process's start
(a third of BeautifulSoup's import), for ``select()``, which the parsers never call. A
process that parses a handful of pages (``wire-ingest parse`` of one folder, a fresh parse
worker) pays it every time.

``defer("soupsieve")`` makes the next import of soupsieve return a module that loads
itself on first attribute access (``importlib.util.LazyLoader``), so BeautifulSoup's
selectors still work, loaded when first used. It works through a one-shot finder rather
than by putting a lazy module into ``sys.modules`` up front: Python 3.11 reads
``__spec__`` of a module found in ``sys.modules`` on every later ``import`` of it, which
would load it at once. Python 3.11's lazy module is not thread-safe on its first touch
(3.12 added a lock); the parsers never touch soupsieve, and a caller that does from
several threads at once can import it first.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType


class _DeferOnce(importlib.abc.MetaPathFinder):
    """Finds ``name`` once, through the normal finders, with a lazy loader; then leaves."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # before looking it up: the lookup must not find us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not installed, or a loader LazyLoader cannot wrap: imported as usual
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer(name: str) -> None:
    """Make the next import of top-level module ``name`` lazy (nothing happens if it is
    imported already or deferred already)."""
    if name in sys.modules or any(isinstance(f, _DeferOnce) and f.name == name for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferOnce(name))
