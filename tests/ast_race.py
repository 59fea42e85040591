"""CPython gh-106905: two threads in ``ast.parse`` at once can fail with a bogus SystemError.

On CPython 3.11.0-3.11.7 and 3.12.0-3.12.1 the AST constructor keeps its recursion-depth counter in
per-interpreter state. When a garbage collection inside one thread's ``ast.parse`` runs a finalizer,
the GIL can pass to another thread whose ``ast.parse`` resets that counter, and the first one fails
with ``SystemError: AST constructor recursion depth mismatch (before=27, after=47)``. Fixed by
python/cpython#113035 (3.11.8, 3.12.2).

In this test suite the two threads are an AppTest script thread, which parses the page for
Streamlit's magic on every ``AppTest.run()``, and the dataset warm-up thread that every page starts
through ``ui.open_workspace()`` (``core.derived.warm_in_background``): it reads back the ``.npz``
near-duplicate graphs, and ``numpy.load`` parses every array header with ``ast.literal_eval``.
:func:`install` serialises ``ast.parse`` across threads so the suite cannot hit it.

``python -m tests.ast_race`` shows the race: unguarded it fails within a second or so on an affected
Python; guarded it does not.
"""

from __future__ import annotations

import ast
import functools
import io
import sys
import threading
import time

AFFECTED = (3, 11) <= sys.version_info[:3] < (3, 11, 8) or (3, 12) <= sys.version_info[:3] < (3, 12, 2)
_UNGUARDED = ast.parse
_LOCK = threading.RLock()  # re-entrant: a finalizer run inside a parse may parse again


@functools.wraps(_UNGUARDED)
def _guarded_parse(*args, **kwargs):
    with _LOCK:
        return _UNGUARDED(*args, **kwargs)


def install() -> None:
    """Make ``ast.parse`` (and so ``ast.literal_eval``, ``numpy.load``, tracebacks) one thread at a time."""
    if AFFECTED:
        ast.parse = _guarded_parse


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return ast.parse is _guarded_parse


class _Cycle:
    """Garbage the collector has to finalize: Python code run in the middle of a parse."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(50))


def race(seconds: float, *, parse=None) -> list[BaseException]:
    """Parse a page in one thread while another ``numpy.load``s an ``.npz``, as the page tests did.

    Returns:
        The SystemErrors seen (the race stops at the first one).
    """
    import numpy as np

    from tests.conftest import ROOT

    parse = parse or ast.parse
    source = (ROOT / "pages" / "5_Synthetic.py").read_text()
    buffer = io.BytesIO()
    np.savez(buffer, **{f"a{i}": np.arange(10) for i in range(8)})
    npz = buffer.getvalue()
    errors: list[BaseException] = []
    stop = threading.Event()

    def guarded(work):
        def loop():
            while not stop.is_set():
                try:
                    work()
                except SystemError as exc:
                    errors.append(exc)
                    stop.set()

        return loop

    def load():
        with np.load(io.BytesIO(npz)) as arrays:
            for name in arrays.files:
                arrays[name]

    def garbage():
        _Cycle()
        time.sleep(0)

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the race shows in well under a second
    original = ast.parse
    ast.parse = parse  # numpy.load reaches it through ast.literal_eval
    threads = [threading.Thread(target=guarded(w), daemon=True) for w in (garbage, load)]
    threads.append(threading.Thread(target=guarded(lambda: parse(source)), daemon=True))
    try:
        for thread in threads:
            thread.start()
        stop.wait(seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        ast.parse = original
        sys.setswitchinterval(before)
    return errors


if __name__ == "__main__":
    print(sys.version.split()[0], "affected" if AFFECTED else "not affected")
    for name, fn in (("unguarded", _UNGUARDED), ("guarded", _guarded_parse)):
        started = time.monotonic()
        found = race(10, parse=fn)
        outcome = repr(found[0]) if found else "no error"
        print(f"{name}: {outcome} after {time.monotonic() - started:.1f} s")
