"""The test suite's own safeguards."""

import pytest

from tests import ast_race


@pytest.mark.skipif(not ast_race.AFFECTED, reason="this Python has the fix of CPython gh-106905")
def test_ast_parse_is_one_thread_at_a_time_where_python_needs_it():
    assert ast_race.installed()
    assert ast_race.race(1.0) == []  # unguarded, this race fails in about 0.5 s on 3.11.7
