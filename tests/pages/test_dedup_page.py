from streamlit.testing.v1 import AppTest

from core import dedup, records
from core.workspace import Workspace
from tests.conftest import ROOT

_PAGE = str(ROOT / "pages" / "4_Dedup.py")
_STORY = (
    "the quick brown fox jumps over the lazy dog and then runs far away into the dark forest where "
    "nobody can find it again until the very end of the long winter"
)

_EVIL = "<script>alert('x')</script> [link](javascript:alert(1)) please answer this question"


def _record(prompt, reply, source="real"):
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": reply},
    ]
    return records.make_record("sft", messages, extra={"source": source})


def _seed(tmp_path):
    ws = Workspace.open(tmp_path)
    rows = [
        _record(f"Question number {i} about topic {i * 7}", f"Answer {i}: " + "words " * (i % 5))
        for i in range(12)
    ]
    rows += [
        _record("Tell me a story", _STORY),
        _record("Tell me a story", _STORY),  # exact
        _record("tell me a   STORY", _STORY, source="synthetic"),  # exact after normalisation
        _record("Tell me a story", _STORY.replace("winter", "summer")),  # near
        _record(_EVIL, "**bold** <b>html</b> and some more ordinary words that repeat in both rows :red[x]"),
        _record(_EVIL, "**bold** <b>html</b> and some more ordinary words that repeat in both rows :red[y]"),
    ]
    ws.save_dataset(records.make_frame(rows), note="upload")
    return ws


def _app(tmp_path):
    at = AppTest.from_file(_PAGE, default_timeout=60)
    at.session_state["workspace_root"] = str(tmp_path)
    return at.run()


def test_page_without_dataset(tmp_path):
    at = _app(tmp_path)
    assert not at.exception
    assert any("upload" in i.value.lower() for i in at.info)


def test_preview_apply_and_restore(tmp_path):
    ws = _seed(tmp_path)
    at = _app(tmp_path)
    assert not at.exception
    assert at.slider(key="dedup_threshold").value == 0.8
    assert any("clusters" in h.value for h in at.subheader)
    before = len(ws.current_dataset())
    expected = dedup.find_duplicates(ws.current_dataset()).removed
    assert expected == 4  # the story: 2 exact + 1 near; the escaped pair: 1 near
    at.button(key="dedup_apply").click().run()
    assert not at.exception
    after = ws.current_dataset()
    assert len(after) == before - expected
    assert ws.get_state("dedup.settings")["threshold"] == 0.8
    assert ws.steps()["dedup"]["summary"]["after"] == before - expected
    assert len(dedup.load_audit(ws)) == expected
    assert any(f"Removed {expected} rows" in s.value for s in at.success)
    at.button(key="dedup_restore_all").click().run()
    assert not at.exception
    assert len(ws.current_dataset()) == before
    assert dedup.load_audit(ws).empty


def test_threshold_and_manual_pick(tmp_path):
    ws = _seed(tmp_path)
    at = _app(tmp_path)
    at.slider(key="dedup_threshold").set_value(0.95).run()
    assert not at.exception
    version = ws.dataset_version()
    picks = [s for s in at.selectbox if s.key and s.key.startswith(f"dedup_pick_{version}_")]
    assert picks
    first = picks[0]
    other = [o for o in first.options if o != str(first.value)][0]
    first.set_value(int(other) if other.isdigit() else other).run()
    at.button(key="dedup_apply").click().run()
    assert not at.exception
    assert len(ws.current_dataset()) < 18


def test_data_cannot_inject_html(tmp_path):
    _seed(tmp_path)
    at = _app(tmp_path)
    at.slider(key="dedup_threshold").set_value(0.5).run()
    at.radio(key="dedup_show").set_value("the whole text").run()  # not from its difference
    assert not at.exception
    bodies = [m.value for m in at.markdown]
    assert any("script" in b for b in bodies)
    for body in bodies:
        assert "<script>" not in body and "<b>" not in body
        assert "](javascript" not in body


def test_cancelled_search_can_be_started_again(tmp_path):
    _seed(tmp_path)
    at = AppTest.from_file(_PAGE, default_timeout=60)
    at.session_state["workspace_root"] = str(tmp_path)
    at.session_state["dedup_paused"] = True
    at.run()
    assert not at.exception
    assert any("cancelled" in w.value for w in at.warning)
    at.button(key="dedup_run").click().run()
    assert not at.exception
    assert at.button(key="dedup_apply")


def _seed_paraphrases(tmp_path):
    """Unrelated support requests and one request restated in other words (no shared 5-gram)."""
    from tests.paraphrase_corpus import PARAPHRASES

    ws = Workspace.open(tmp_path)
    rows = [_record(a, "Here is how.") for _, a, _ in PARAPHRASES[:12]]
    rows.append(_record(PARAPHRASES[0][2], "Here is how."))  # restates row 0
    ws.save_dataset(records.make_frame(rows), note="upload")
    return ws


def test_semantic_view_shows_the_pair_with_cosine_jaccard_and_why_and_applies_with_undo(tmp_path):
    ws = _seed_paraphrases(tmp_path)
    at = _app(tmp_path)
    at.radio(key="dedup_method").set_value("semantic").run()
    assert not at.exception
    at.slider(key="dedup_cosine").set_value(0.8).run()
    assert not at.exception
    tables = [t.value for t in at.dataframe if "cosine" in t.value.columns]
    assert tables, "no pair table"
    pair = tables[0].iloc[0]
    assert pair["cosine"] >= 0.8 and pair["Jaccard"] < 0.8 and pair["method"] == "semantic"
    assert "reworded" in pair["why"]
    at.button(key="dedup_apply").click().run()
    assert not at.exception
    assert len(ws.current_dataset()) == 12
    assert ws.get_state("dedup.settings")["method"] == "semantic"
    at.button(key="dedup_restore_all").click().run()
    assert len(ws.current_dataset()) == 13


def test_semantic_view_with_no_pair_at_the_cosine_says_so(tmp_path):
    _seed_paraphrases(tmp_path)
    at = _app(tmp_path)
    at.radio(key="dedup_method").set_value("semantic").run()
    at.slider(key="dedup_cosine").set_value(0.99).run()
    assert not at.exception, at.exception
    assert any("No duplicates" in s.value for s in at.success)
    assert "dedup_apply" not in [b.key for b in at.button]


def test_semantic_view_of_a_warmed_version_reads_the_background_pass(tmp_path):
    from core import derived
    from core.semantic import pairs, versioned

    ws = _seed_paraphrases(tmp_path)
    version = ws.dataset_version()
    derived.warm_in_background(ws, version).join(timeout=100)
    assert versioned.pairs_stored(ws, version, pairs.PairSettings())
    stored = {p: p.stat().st_mtime_ns for p in ws.derived_dir(version).glob("semantic-*")}
    at = _app(tmp_path)
    at.radio(key="dedup_method").set_value("semantic").run()
    at.slider(key="dedup_cosine").set_value(0.8).run()
    assert not at.exception
    assert [t.value for t in at.dataframe if "cosine" in t.value.columns], "no pair table"
    assert {p: p.stat().st_mtime_ns for p in ws.derived_dir(version).glob("semantic-*")} == stored


def test_a_pair_can_show_only_the_turns_that_differ(tmp_path):
    _seed(tmp_path)
    at = _app(tmp_path)
    first = [m.value for m in at.markdown if "summer" in m.value or "winter" in m.value]
    assert any("identical characters" in b for b in first)  # opens at the first difference by default
    at.radio(key="dedup_show").set_value("only the turns that differ").run()
    assert not at.exception, at.exception
    sides = [m.value for m in at.markdown if "turn " in m.value]
    changed = [b for b in sides if "turn 3 · assistant" in b]
    assert changed and any(
        ":red-background[summer]" in b or ":green-background[winter]" in b for b in changed
    )
    assert all("2 identical turns" in b and "helpful assistant" not in b for b in changed)
    assert not any("Tell me a story" in b for b in sides)  # the identical user turn is left out
