"""botocore's documentation generator, imported the first time a docstring is read.

`botocore.client` and `botocore.waiter` import three docstring classes from
`botocore.docs.docstring`, and that import runs botocore's whole documentation generator
(`botocore.docs` with its service, shape and example writers, `html.parser`): about 30M
instructions, 4% of the function's first webhook (callgrind), for the docstrings of client methods,
which nothing in a function reads. `defer()` puts stand-ins in `sys.modules` before botocore
loads: the package `botocore.docs` whose `__init__` runs at its first attribute, and classes
that take the real ones' arguments and build the real docstring, with the real generator, when
one is first read (as botocore's own `LazyLoadedDocstring` defers the writing). See
docs/deploying.md (cold starts).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

PACKAGE = "botocore.docs"
MODULE = "botocore.docs.docstring"
# Every name botocore imports from MODULE (tests/adapters/test_aws_docstrings.py reads
# botocore's sources for them).
NAMES = ("ClientMethodDocstring", "PaginatorDocstring", "WaiterDocstring")

_lock = threading.RLock()
_stand_in: types.ModuleType | None = None


def defer() -> None:
    """Install the stand-ins, unless botocore's docs are loaded already (then nothing is left
    to save)."""
    global _stand_in
    with _lock:
        if MODULE in sys.modules or PACKAGE in sys.modules:
            return
        package = _deferred_package()
        botocore = sys.modules["botocore"]  # find_spec imported it
        botocore.docs = sys.modules[PACKAGE] = package  # type: ignore[attr-defined]
        _stand_in = types.ModuleType(MODULE, __doc__)
        for name in NAMES:
            setattr(_stand_in, name, type(name, (Deferred,), {"__module__": MODULE}))
        _stand_in.__getattr__ = _from_real_module  # type: ignore[method-assign]
        sys.modules[MODULE] = _stand_in
        package.docstring = _stand_in  # type: ignore[attr-defined]  # as an import binds it


def _deferred_package() -> types.ModuleType:
    """`botocore.docs` with its path set (its submodules import as usual) and its `__init__`
    run at the first attribute read from it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        raise ImportError(f"botocore ships no {PACKAGE}")
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)

    loaded: list[bool] = []  # set once __init__ has started: a lookup inside it runs it not again

    def __getattr__(name: str) -> Any:
        with _lock:  # another thread's lookup waits here until __init__ has finished
            if not loaded:
                loaded.append(True)
                try:
                    loader.exec_module(package)
                except BaseException:
                    loaded.clear()
                    raise
                del package.__dict__["__getattr__"]
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    return package


def _from_real_module(name: str) -> Any:
    """Any other name of the stand-in module (LazyLoadedDocstring, say) is the real one's. The
    import system probes dunders (`__path__`, `__file__`): those stay missing."""
    if name.startswith("__"):
        raise AttributeError(f"module {MODULE!r} has no attribute {name!r}")
    return getattr(real_module(), name)


def real_module() -> types.ModuleType:
    """The real `botocore.docs.docstring`, imported in place of the stand-in on first use."""
    with _lock:
        if sys.modules.get(MODULE) is _stand_in:
            del sys.modules[MODULE]
        return importlib.import_module(MODULE)


class Deferred(str):
    """An empty `str` standing for a botocore docstring until it is read, like botocore's
    `LazyLoadedDocstring`: `help()` reaches it through `expandtabs` (inspect.cleandoc)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Deferred:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._args = args
        self._kwargs = kwargs
        self._text: str | None = None

    def _generate(self) -> str:
        if self._text is None:
            real = getattr(real_module(), type(self).__name__)
            self._text = str(real(*self._args, **self._kwargs))
        return self._text

    def __str__(self) -> str:
        return self._generate()

    def __repr__(self) -> str:
        return self._generate()

    def expandtabs(self, tabsize: Any = 8) -> str:
        return self._generate().expandtabs(tabsize)

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        """Pickled as the text it stands for (the class is not importable by its name)."""
        return str, (self._generate(),)
