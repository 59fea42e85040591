import os
import signal

import pytest

from core import _fork, lang
from core.profile import texts as profile_texts

pytestmark = pytest.mark.skipif(not _fork.can_fork(), reason="needs fork and two cores")


def _encode(values: list[int]) -> bytes:
    return ",".join(map(str, values)).encode()


def _decode(data: bytes) -> list[int]:
    return [int(v) for v in data.decode().split(",")]


def test_the_child_computes_and_the_parent_gets_the_result():
    parent = os.getpid()
    call = _fork.ForkedCall(lambda: [os.getpid(), 7], encode=_encode, decode=_decode)
    child, seven = call.result()
    assert seven == 7 and child != parent  # really computed in another process


def test_a_child_that_sends_nothing_or_nonsense_is_computed_here(monkeypatch, forked_calls):
    parent = os.getpid()
    received = []

    def refuse(data: bytes) -> list[int]:
        received.append(_decode(data))
        raise ValueError("does not fit")

    assert _fork.ForkedCall(lambda: [os.getpid()], encode=_encode, decode=refuse).result() == [parent]
    assert len(received) == 1 and received[0] != [parent]  # the child did send its own result
    monkeypatch.setattr(_fork, "_child", lambda writer, work: writer.close())
    assert _fork.ForkedCall(lambda: [os.getpid()], encode=_encode, decode=_decode).result() == [parent]
    silent = forked_calls[-1]
    assert silent._process.pid and silent._process.exitcode is not None  # it ran, sent nothing, ended


def test_languages_of_many_texts_are_the_same_forked_or_not(monkeypatch, forked_calls):
    texts = [f"Where is my parcel number {i}? It has not arrived yet." for i in range(30)] + [
        "¿Dónde está mi pedido? No ha llegado todavía.",
        "Wo ist meine Bestellung? Sie ist noch nicht angekommen.",
        "",
    ]
    monkeypatch.setattr(profile_texts, "_FORK_FROM_TEXTS", 1)
    assert profile_texts._languages_of(texts)() == lang.detect_languages(texts)
    assert len(forked_calls) == 1 and forked_calls[0]._process.exitcode == 0  # a child did detect
    assert lang.detect_languages(texts)[-3:] == ["es", "de", "und"]


def test_a_stuck_child_is_given_up_and_computed_here(monkeypatch, forked_calls):
    import time

    monkeypatch.setattr(_fork, "_MIN_WAIT_S", 0.5)
    monkeypatch.setattr(_fork, "_child", lambda writer, work: time.sleep(30))
    started = time.monotonic()
    result = _fork.ForkedCall(lambda: [os.getpid()], encode=_encode, decode=_decode).result()
    assert result == [os.getpid()] and time.monotonic() - started < 10
    assert forked_calls[0]._process.exitcode == -signal.SIGKILL  # the child was there, and given up
