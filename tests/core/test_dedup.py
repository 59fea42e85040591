import io
import json
from contextlib import redirect_stdout

import datasketch
import hypothesis as hs
import hypothesis.strategies as hst
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core import _minhash, dedup, records, similarity
from core.__main__ import main

_SYSTEM = (
    "You are the helpful assistant of Brightwave Electronics. Be polite, precise and brief in every answer."
)


def _record(prompt, response, *, system=_SYSTEM, **extra):
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    return records.make_record("sft", messages, extra=extra)


def _random_texts(rng, n, vocab_size=400, low=8, high=60):
    vocab = [f"w{i}" for i in range(vocab_size)]
    return [" ".join(rng.choice(vocab, size=int(rng.integers(low, high)))) for _ in range(n)]


def _edit(text, rng, edits):
    words = text.split()
    for _ in range(edits):
        at = int(rng.integers(0, len(words)))
        words[at] = f"x{int(rng.integers(0, 10**6))}"
    return " ".join(words)


def _planted_corpus(seed, n_base=160):
    rng = np.random.default_rng(seed)
    base = _random_texts(rng, n_base)
    near = [_edit(base[int(i)], rng, int(rng.integers(1, 4))) for i in rng.integers(0, n_base, 50)]
    exact = [base[int(i)].upper() for i in rng.integers(0, n_base, 20)]
    texts = base + near + exact
    order = rng.permutation(len(texts))
    return [texts[i] for i in order]


def _frame_of(texts):
    return records.make_frame([_record(t, "", system=None) for t in texts])


def _truth_components(texts, config):
    params = config.engine_params()
    sets = [similarity.shingles(t, params) for t in texts]
    rows, cols = [], []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            if sets[i] and sets[j] and similarity.jaccard(sets[i], sets[j]) >= config.threshold:
                rows.append(i)
                cols.append(j)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(texts)))
    return connected_components(graph, directed=False)[1]


def _same_cluster_pairs(labels):
    pairs = set()
    for label in set(labels):
        members = np.flatnonzero(labels == label)
        pairs |= {(int(a), int(b)) for k, a in enumerate(members) for b in members[k + 1 :]}
    return pairs


def _found_labels(result, n):
    labels = np.arange(n) + n
    for cluster in result.clusters:
        labels[list(cluster.members)] = cluster.cluster_id
    return labels


# -- against brute force ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.9])
def test_clusters_match_brute_force_jaccard(seed, threshold):
    texts = _planted_corpus(seed)
    config = dedup.DedupConfig(threshold=threshold, seed=seed)
    result = dedup.find_duplicates(_frame_of(texts), config)
    truth = _same_cluster_pairs(_truth_components(texts, config))
    found = _same_cluster_pairs(_found_labels(result, len(texts)))
    assert truth, "the corpus must hold duplicates"
    recall = len(truth & found) / len(truth)
    precision = len(truth & found) / len(found)
    assert recall >= 0.99
    assert precision >= 0.99


def test_reported_similarity_is_the_true_jaccard():
    texts = _planted_corpus(3)
    config = dedup.DedupConfig()
    frame = _frame_of(texts)
    result = dedup.find_duplicates(frame, config)
    for cluster in result.clusters:
        if cluster.kind == "near":
            matrix = dedup.pairwise_jaccard(frame, cluster.members, config)
            np.fill_diagonal(matrix, 0)
            assert matrix.max(axis=1) == pytest.approx(cluster.similarity, abs=1e-9)
            assert cluster.min_jaccard >= config.threshold


def test_signature_estimates_match_datasketch():
    rng = np.random.default_rng(7)
    base = _random_texts(rng, 40, vocab_size=2000, low=60, high=200)
    variants = [_edit(t, rng, int(k)) for t, k in zip(base, rng.integers(1, 25, len(base)), strict=True)]
    config = dedup.DedupConfig(threshold=0.5)
    params = config.engine_params()
    ours = _minhash.signatures(base + variants, params)
    errors_ours, errors_ds, gaps = [], [], []
    for i in range(len(base)):
        a = similarity.shingles(base[i], params)
        b = similarity.shingles(variants[i], params)
        true = similarity.jaccard(a, b)
        estimate = float(np.mean(ours[i] == ours[len(base) + i]))
        ds_a, ds_b = datasketch.MinHash(num_perm=128, seed=1), datasketch.MinHash(num_perm=128, seed=1)
        ds_a.update_batch([" ".join(s).encode() for s in a])
        ds_b.update_batch([" ".join(s).encode() for s in b])
        errors_ours.append(abs(estimate - true))
        errors_ds.append(abs(ds_a.jaccard(ds_b) - true))
        gaps.append(abs(estimate - ds_a.jaccard(ds_b)))
    assert np.mean(errors_ours) < 0.06
    assert np.mean(errors_ds) < 0.06
    assert np.mean(gaps) < 0.08


def test_index_finds_the_same_pairs_as_the_batch_path():
    texts = _planted_corpus(4, n_base=80)
    frame = _frame_of(texts)
    config = dedup.DedupConfig(threshold=0.7)
    index = similarity.NearDupIndex(config.threshold, shingle_size=config.shingle_size, seed=config.seed)
    ids = frame["id"].tolist()
    index.add_many(zip(ids, dedup.scope_texts(frame, config), strict=True))
    result = dedup.find_duplicates(frame, config)
    clustered = {ids[m] for c in result.clusters for m in c.members}
    for text, key in zip(texts, ids, strict=True):
        matches = [m for m, _ in index.query(text) if m != key]
        assert bool(matches) == (key in clustered and _has_non_identical_twin(result, ids, key, index))


def _has_non_identical_twin(result, ids, key, index):
    for cluster in result.clusters:
        members = {ids[m] for m in cluster.members}
        if key in members:
            return len(members) > 1
    return False


def test_index_add_and_query_returns_verified_jaccard():
    config = dedup.DedupConfig(threshold=0.6)
    words = " ".join(f"word{i}" for i in range(60))
    index = similarity.NearDupIndex(config.threshold)
    index.add_many([("a", words), ("b", "something else entirely, nothing alike")])
    index.add("c", words.replace("word30", "changed"))
    index.add("a", "ignored: the id is already there")
    assert len(index) == 3
    matches = index.query(words)
    assert [m for m, _ in matches] == ["a", "c"]
    assert matches[0][1] == 1.0
    expected = similarity.jaccard(
        similarity.shingles(words, config.engine_params()),
        similarity.shingles(words.replace("word30", "changed"), config.engine_params()),
    )
    assert matches[1][1] == pytest.approx(expected)
    assert index.query("") == []


# -- scripts, scope, bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "edited"),
    [
        (
            "从前有一只敏捷的棕色狐狸跳过了一只懒狗然后跑进了黑暗的森林里再也没有人找到它了这是一个古老的故事",
            "从前有一只敏捷的棕色狐狸跳过了一只懒狗然后跑进了黑暗的森林里再也没有人找到他了这是一个古老的故事",
        ),
        (
            "むかしむかしあるところにおじいさんとおばあさんがすんでいましたおじいさんはやまへしばかりに",
            "むかしむかしあるところにおじいさんとおばあさんがすんでいましたおじいさんはやまへしばかりへ",
        ),
        (
            "กาลครั้งหนึ่งนานมาแล้วมีสุนัขจิ้งจอกสีน้ำตาลตัวหนึ่งกระโดดข้ามสุนัขขี้เกียจแล้ววิ่งเข้าป่า",
            "กาลครั้งหนึ่งนานมาแล้วมีสุนัขจิ้งจอกสีน้ำตาลตัวหนึ่งกระโดดข้ามสุนัขขี้เกียจแล้ววิ่งเข้าป่าไป",
        ),
    ],
)
def test_near_duplicates_in_scripts_without_spaces(original, edited):
    frame = records.make_frame(
        [_record("故事", original), _record("故事", edited), _record("别的", "完全不同的内容")]
    )
    result = dedup.find_duplicates(frame)
    assert result.char_ngram_rows == 3
    assert [c.members for c in result.clusters] == [(0, 1)]
    assert result.clusters[0].kind == "near"


def test_system_prompt_is_excluded_by_default():
    long_system = " ".join(f"rule{i}" for i in range(200))
    frame = records.make_frame(
        [_record(f"question {i}", f"answer number {i}", system=long_system) for i in range(5)]
    )
    assert dedup.find_duplicates(frame).clusters == ()
    with_system = dedup.find_duplicates(frame, dedup.DedupConfig(include_system=True))
    assert with_system.removed == 4


def test_scopes_pick_the_turns():
    frame = records.make_frame(
        [_record("same question here", "first answer"), _record("same question here", "another reply")]
    )
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="prompt")).removed == 1
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="response")).removed == 0
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="all")).removed == 0


def test_preference_sides_can_be_chosen():
    prompt = [{"role": "user", "content": "Which is better?"}]
    rows = [
        records.make_record(
            "preference",
            prompt,
            chosen=[{"role": "assistant", "content": "The first one, clearly."}],
            rejected=[{"role": "assistant", "content": f"Rejected answer {i}"}],
        )
        for i in range(3)
    ]
    frame = records.make_frame(rows)
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="prompt+chosen")).removed == 2
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="rejected")).removed == 0
    assert dedup.find_duplicates(frame, dedup.DedupConfig(scope="all")).removed == 0


def test_normalisation_switches():
    frame = records.make_frame(
        [_record("Hello   World", "Ｆｕｌｌ width"), _record("hello world", "Full width")]
    )
    assert dedup.find_duplicates(frame).exact_duplicates == 1
    assert dedup.find_duplicates(frame, dedup.DedupConfig(casefold=False, threshold=1.0)).removed == 0
    assert dedup.find_duplicates(frame, dedup.DedupConfig(nfkc=False, threshold=1.0)).removed == 0
    spaced = records.make_frame([_record("a  b c d e f", "x"), _record("a b c d e f", "x")])
    assert dedup.find_duplicates(spaced).exact_duplicates == 1
    unspaced = dedup.find_duplicates(spaced, dedup.DedupConfig(collapse_whitespace=False))
    assert unspaced.exact_duplicates == 0
    assert unspaced.near_duplicates == 1  # same words, so the same shingles


def test_bad_input_empty_one_word_huge_and_mixed():
    huge = " ".join(f"tok{i}" for i in range(30_000))
    texts = [
        "",
        "",
        "hello",
        "hello",
        "Hello",
        huge,
        huge + " tail",
        "mixed 中文 text with english words here",
    ]
    frame = _frame_of(texts)
    result = dedup.find_duplicates(frame, dedup.DedupConfig(max_shingles=1000))
    assert result.empty_rows == 2
    assert result.capped_rows == 2
    assert any("first 1000 shingles" in note for note in result.notes)
    members = sorted(c.members for c in result.clusters)
    assert members == [(2, 3, 4), (5, 6)]


def test_empty_frame():
    result = dedup.find_duplicates(records.empty_frame())
    assert result.rows == 0 and result.clusters == () and result.removed_fraction == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"scope": "everything"}, "scope"),
        ({"scope": "prompt+sides"}, "scope"),
        ({"shingle_size": 0}, "shingle_size"),
        ({"num_perm": 100}, "num_perm"),
        ({"max_shingles": 0}, "max_shingles"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dedup.DedupConfig(**kwargs)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_bands_are_biased_to_recall(threshold):
    bands, rows = _minhash.choose_bands(threshold, 128)
    assert bands * rows <= 128
    assert 1 - (1 - threshold**rows) ** bands >= 0.999


# -- keep policies, apply, restore --------------------------------------------------------------------


def _policy_frame():
    text = " ".join(f"word{i}" for i in range(40))
    rows = [
        _record("q", text, source="synthetic", created_at="2026-06-01T00:00:00Z"),
        _record("q", text + " extra words at the very end", source="real", created_at="2026-08-01T00:00:00Z"),
        _record("q", text + " more", source="synthetic", created_at="2026-09-01T00:00:00Z"),
    ]
    frame = records.make_frame(rows)
    frame["valid"] = [False, False, True]
    return frame


@pytest.mark.parametrize(
    ("policy", "keeper"),
    [("first", 0), ("longest", 1), ("shortest", 0), ("newest", 2), ("prefer_real", 1), ("prefer_valid", 2)],
)
def test_keep_policies(policy, keeper):
    frame = _policy_frame()
    result = dedup.find_duplicates(frame, dedup.DedupConfig(threshold=0.7))
    assert [c.members for c in result.clusters] == [(0, 1, 2)]
    assert dedup.choose_keepers(frame, result, policy) == {0: keeper}


def test_manual_pick_overrides_the_policy():
    frame = _policy_frame()
    result = dedup.find_duplicates(frame, dedup.DedupConfig(threshold=0.7))
    assert dedup.choose_keepers(frame, result, "first", {0: frame["id"][2]}) == {0: 2}
    assert dedup.choose_keepers(frame, result, "first", {0: 1}) == {0: 1}
    with pytest.raises(ValueError, match="not a member"):
        dedup.choose_keepers(frame, result, "first", {0: "nope"})
    with pytest.raises(ValueError, match="keep policy"):
        dedup.choose_keepers(frame, result, "random")


def test_apply_then_restore_round_trip():
    texts = _planted_corpus(5)
    frame = _frame_of(texts)
    result = dedup.find_duplicates(frame)
    kept, audit = dedup.apply_dedup(frame, result, policy="longest")
    assert len(kept) + len(audit) == len(frame)
    assert len(audit) == result.removed
    assert set(audit["dedup_match"]) <= {"exact", "near"}
    assert (audit["dedup_similarity"] >= 0.8).all()
    assert set(audit["dedup_kept_id"]) <= set(kept["id"])
    restored, remaining = dedup.restore(kept, audit, audit["id"][:3])
    assert len(restored) == len(kept) + (len(audit) - len(remaining))
    everything, none_left = dedup.restore(kept, audit, audit["id"])
    assert none_left.empty
    assert sorted(everything["id"]) == sorted(frame["id"])
    assert list(everything.columns) == list(frame.columns)


def test_dedup_of_a_deduped_set_removes_nothing():
    frame = _frame_of(_planted_corpus(6))
    kept, _ = dedup.apply_dedup(frame, dedup.find_duplicates(frame))
    assert dedup.find_duplicates(kept).removed == 0


@hs.settings(max_examples=25, deadline=None)
@hs.given(
    hst.lists(
        hst.lists(hst.sampled_from(["a", "b", "c", "d", "e", "f", "G", "h"]), max_size=12), max_size=25
    ),
    hst.sampled_from([0.5, 0.7, 0.8, 0.95]),
)
def test_idempotence_property(word_lists, threshold):
    frame = _frame_of([" ".join(words) for words in word_lists])
    config = dedup.DedupConfig(threshold=threshold)
    kept, audit = dedup.apply_dedup(frame, dedup.find_duplicates(frame, config))
    assert len(kept) + len(audit) == len(frame)
    assert dedup.find_duplicates(kept, config).removed == 0


def test_sensitivity_is_monotone():
    frame = _frame_of(_planted_corpus(8))
    table = dedup.sensitivity(frame, thresholds=(0.9, 0.7, 0.8))
    assert list(table["threshold"]) == [0.7, 0.8, 0.9]
    assert table["removed"].is_monotonic_decreasing
    for threshold, removed in zip(table["threshold"], table["removed"], strict=True):
        assert dedup.find_duplicates(frame, dedup.DedupConfig(threshold=threshold)).removed == removed


def test_progress_and_cancel(monkeypatch):
    monkeypatch.setattr(dedup.engine, "_BATCH_SIZE", 50)
    frame = _frame_of(_planted_corpus(9))
    seen = []
    dedup.find_duplicates(frame, progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 2
    with pytest.raises(dedup.Cancelled):
        dedup.find_duplicates(frame, cancel=lambda: True)


def test_two_processes_give_the_same_clusters(monkeypatch):
    monkeypatch.setattr(dedup.engine, "_BATCH_SIZE", 40)
    frame = _frame_of(_planted_corpus(10))
    one = dedup.find_duplicates(frame, processes=1)
    two = dedup.find_duplicates(frame, processes=2)
    assert one.clusters == two.clusters


# -- explaining ---------------------------------------------------------------------------------------


def test_diff_words_marks_the_changed_words_and_keeps_the_text():
    a, b = "the quick brown fox\njumps over", "the quick red fox\njumps  over it"
    left, right = dedup.diff_words(a, b)
    assert "".join(t for t, _ in left) == a
    assert "".join(t for t, _ in right) == b
    assert [t.strip() for t, changed in left if changed] == ["brown"]
    assert [t.strip() for t, changed in right if changed] == ["red", "it"]


# -- workspace audit and the command line ---------------------------------------------------------------


def test_audit_is_stored_and_restorable(workspace):
    frame = _frame_of(_planted_corpus(11))
    first = workspace.save_dataset(frame, note="upload")
    kept, audit = dedup.apply_dedup(frame, dedup.find_duplicates(frame))
    second = workspace.save_dataset(kept, note="dedup")
    dedup.save_audit(workspace, audit, from_version=first, to_version=second)
    stored = dedup.load_audit(workspace)
    assert len(stored) == len(audit)
    assert stored["messages"].tolist() == audit["messages"].tolist()
    restored, _ = dedup.restore(workspace.current_dataset(), stored, stored["id"])
    assert sorted(restored["id"]) == sorted(frame["id"])
    third = workspace.save_dataset(restored, note="restore")
    dedup.mark_restored(workspace, stored["audit_key"][:2], version=third)
    assert len(dedup.load_audit(workspace)) == len(audit) - 2


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def _chat(prompt, reply):
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]}


def test_command_line_json_and_output_file(tmp_path):
    story = "the quick brown fox jumps over the lazy dog and then runs far away into the dark forest at night"
    source = tmp_path / "in.jsonl"
    _jsonl(
        source,
        [_chat("Tell me a story", story), _chat("Tell me a story", story), _chat("What is 2+2?", "Four.")]
        + [_chat("Tell me a story", story.replace("night", "dusk"))],
    )
    out = tmp_path / "out.jsonl"
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        code = main(["dedup", str(source), "--threshold", "0.8", "--keep", "first", "-o", str(out), "--json"])
    assert code == 0
    payload = json.loads(stdout.getvalue())
    assert {"rows", "exact_duplicates", "near_duplicates", "removed_fraction", "clusters"} <= set(payload)
    assert payload["rows"] == 4
    assert payload["exact_duplicates"] == 1 and payload["near_duplicates"] == 1
    assert payload["removed_fraction"] == 0.5
    (cluster,) = payload["clusters"]
    assert set(cluster) >= {"kept", "removed", "min_jaccard"} and len(cluster["removed"]) == 2
    assert len(out.read_text().splitlines()) == 2


def test_command_line_reports_bad_options(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    _jsonl(source, [_chat("a", "b")])
    assert main(["dedup", str(source), "--scope", "nonsense"]) == 2
    assert "scope" in capsys.readouterr().err
    assert main(["dedup", str(tmp_path / "missing.jsonl")]) == 2


def test_sample_data_planted_duplicates_are_all_found():
    from core import formats
    from tests.conftest import SAMPLE_DATA

    planted = json.loads((SAMPLE_DATA / "planted.json").read_text())
    frame = formats.load_dataset(SAMPLE_DATA / "support_sft.jsonl").records
    result = dedup.find_duplicates(frame)
    lines = frame["source_line"].tolist()
    cluster_of = {lines[m]: c.cluster_id for c in result.clusters for m in c.members}
    for item in planted["exact"] + planted["near"]:
        assert cluster_of.get(item["line"]) is not None
        assert cluster_of.get(item["line"]) == cluster_of.get(item["copy_of"])
    assert result.removed == len(planted["exact"]) + len(planted["near"])


def test_frames_with_missing_text_columns():
    frame = pd.DataFrame({"id": ["a", "b"], "prompt_text": ["same words here", "same words here"]})
    assert dedup.find_duplicates(frame).removed == 1


def test_verification_in_chunks_and_threads_agrees(monkeypatch):
    frame = _frame_of(_planted_corpus(12))
    config = dedup.DedupConfig(threshold=0.5)
    out = _minhash.process_batch(dedup.scope_texts(frame, config), config.engine_params())
    pairs = _minhash.candidate_pairs(out.band_keys)
    one = _minhash.verify_pairs(out.shingles, out.counts, pairs[:, 0], pairs[:, 1])
    assert np.array_equal(pairs, _minhash.candidate_pairs(out.band_keys, threads=2))
    monkeypatch.setattr(_minhash.pairs, "_PAIRS_PER_CHUNK", 7)
    two = _minhash.verify_pairs(out.shingles, out.counts, pairs[:, 0], pairs[:, 1], threads=2)
    assert np.array_equal(one, two)
    texts = dedup.scope_texts(frame, config)
    params = config.engine_params()
    for (a, b), value in zip(pairs[:20], one[:20], strict=True):
        expected = similarity.jaccard(
            similarity.shingles(texts[a], params), similarity.shingles(texts[b], params)
        )
        assert value == pytest.approx(expected)


def test_a_pair_opens_at_its_first_difference_and_can_show_only_the_lines_that_differ():
    same = " ".join(f"word{i}" for i in range(60))
    left, right = dedup.diff_words(
        f"{same} the blue box\nline two\nline three", f"{same} the red box\nline two\nline 3"
    )
    shown = dedup.from_first_difference(left, context=3)
    assert shown[0][0].startswith("… (") and "identical characters" in shown[0][0]
    assert "".join(t for t, _ in shown[1:]).startswith("word58 word59 the blue box")
    parts = "".join(t for t, _ in dedup.differing_parts(left))
    assert "blue" in parts and "line three" in parts and "line two" not in parts
    assert dedup.from_first_difference([("same", False)]) == [("same", False)]  # nothing differs: as it is


def test_only_the_turns_that_differ_are_shown_with_their_number_and_role():
    system = {"role": "system", "content": "Be brief."}
    a = [
        system,
        {"role": "user", "content": "Can I return it?"},
        {"role": "assistant", "content": "Yes, in 30 days."},
    ]
    b = [
        system,
        {"role": "user", "content": "Can I return it?"},
        {"role": "assistant", "content": "Yes, in 14 days."},
    ]
    runs = dedup.differing_turns(a, b)
    text = "".join(t for t, _ in runs)
    assert text == "… 2 identical turns\nturn 3 · assistant\nYes, in 30 days.\n"
    assert [t for t, differs in runs if differs] == ["30"]
    longer = dedup.differing_turns([*b, {"role": "user", "content": "Thanks"}], b)
    assert "turn 4 · user" in "".join(t for t, _ in longer) and ("Thanks", True) in longer
    assert "".join(t for t, _ in dedup.differing_turns(a, a)) == "… 3 identical turns\n"
    assert "has 1 more turn)" in "".join(t for t, _ in dedup.differing_turns(b, [*b, system]))


def test_a_member_label_names_its_line_id_and_source():
    frame = records.make_frame(
        [records.make_record("sft", [{"role": "user", "content": f"hi {i}"}]) for i in range(2)]
    )
    frame["source_line"] = pd.array([7, None], dtype="Int64")
    frame["source"] = ["synthetic", None]
    assert dedup.member_label(frame, 0) == f"line 7 · {frame['id'][0]} · synthetic"
    assert dedup.member_label(frame, 1) == f"row 2 · {frame['id'][1]} · real"


def test_applied_settings_are_saved_for_the_next_visit(tmp_path):
    from core.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    config = dedup.DedupConfig(threshold=0.85, scope="prompt", casefold=False)
    dedup.save_settings(ws, config, "longest")
    saved = ws.get_state("dedup.settings")
    assert saved["threshold"] == 0.85 and saved["keep"] == "longest" and saved["casefold"] is False
    assert "method" not in saved
    dedup.save_settings(ws, config, "first", method="semantic", cosine=0.9)
    assert {k: ws.get_state("dedup.settings")[k] for k in ("method", "cosine")} == {
        "method": "semantic",
        "cosine": 0.9,
    }
