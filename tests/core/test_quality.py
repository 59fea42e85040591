import json

import pytest

from core import quality, records
from core.__main__ import main
from tests.quality_corpus import planted


@pytest.fixture(scope="module")
def corpus():
    cases = planted(seed=0)
    frame = records.make_frame([record for record, _codes in cases])
    return frame, [codes for _record, codes in cases], quality.scan_quality(frame)


@pytest.mark.parametrize("code", quality.CODES)
def test_every_code_finds_its_planted_rows_and_no_look_alike(corpus, code):
    frame, expected, report = corpus
    truth = {i for i, codes in enumerate(expected) if code in codes}
    found = set(report.flagged_rows(code))
    assert truth, f"the corpus plants no {code}"
    assert found - truth == set(), (
        f"{code} flagged rows it should not: {[frame['response_text'][i] for i in found - truth]}"
    )
    assert truth - found == set(), f"{code} missed: {[frame['response_text'][i] for i in truth - found]}"


def test_a_flag_names_the_field_and_the_exact_span(corpus):
    frame, _expected, report = corpus
    email = next(f for f in report.flags if f.code == "pii_email")
    reply = frame["messages"][email.row][-1]["content"]
    assert email.field == "messages[1].content" and reply[email.start : email.end] == "maria.lopez@correo.es"
    card = next(f for f in report.flags if f.code == "pii_credit_card")
    assert card.text == "4111 1111 1111 1111" and "Luhn" in card.reason
    table = report.frame(frame)
    assert list(table.columns) == ["line", "id", "signal", "code", "field", "span", "reason"]
    assert table.loc[table["code"] == "pii_email", "line"].tolist() == [1]


def test_codes_by_id_gives_each_flagged_example_its_codes_once(corpus):
    frame, expected, report = corpus
    by_id = report.codes_by_id(frame)
    assert by_id == {
        frame["id"][i]: sorted({f.code for f in report.flags if f.row == i}) for i in report.flagged_rows()
    }
    assert all(set(by_id.get(frame["id"][i], [])) >= set(codes) for i, codes in enumerate(expected))


def test_redaction_replaces_every_pii_span_and_a_rescan_finds_none(corpus):
    frame, _expected, report = corpus
    redacted, replaced = quality.redact(frame, report)
    pii_flags = [f for f in report.flags if f.signal == "pii"]
    assert replaced == len(pii_flags) > 0
    assert "Escriba a [EMAIL] y le devolvemos el importe." in redacted["response_text"].tolist()
    again = quality.scan_quality(redacted, ("pii",))
    assert again.flags == []
    assert redacted["id"].tolist() != frame["id"].tolist()  # ids follow the new content
    assert frame["response_text"][0].startswith("Escriba a maria")  # the input is untouched


def test_an_unknown_signal_is_refused():
    with pytest.raises(ValueError, match=r"unknown quality signal\(s\) \['perplexity'\]"):
        quality.scan_quality(records.empty_frame(), ("perplexity",))


def _write(path, cases):
    path.write_text(
        "".join(json.dumps({"messages": r["messages"]}, ensure_ascii=False) + "\n" for r, _c in cases)
    )


def test_cli_prints_flags_with_lines_and_counts(tmp_path, capsys):
    cases = planted(seed=0)
    _write(tmp_path / "data.jsonl", cases)
    assert main(["quality", str(tmp_path / "data.jsonl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == len(cases) and set(out["counts"]) == set(quality.CODES)
    assert out["counts"]["pii_iban"] == 2 and out["counts"]["refusal"] == 2
    first = out["flags"][0]
    assert set(first) == {"line", "id", "signal", "code", "field", "span", "reason"} and first["line"] == 1


def test_cli_redacts_to_a_new_file_in_the_same_format(tmp_path, capsys):
    cases = planted(seed=0)
    _write(tmp_path / "data.jsonl", cases)
    out = tmp_path / "clean.jsonl"
    assert (
        main(["quality", str(tmp_path / "data.jsonl"), "--signals", "pii", "--redact", "-o", str(out)]) == 0
    )
    assert "spans redacted" in capsys.readouterr().out
    text = out.read_text()
    assert "maria.lopez@correo.es" not in text and "[EMAIL]" in text and "[IBAN]" in text
    assert main(["quality", str(out), "--signals", "pii", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flags"] == []


def test_cli_redact_needs_an_output(tmp_path, capsys):
    _write(tmp_path / "data.jsonl", planted(seed=0)[:3])
    assert main(["quality", str(tmp_path / "data.jsonl"), "--redact"]) == 2
    assert "give it with -o OUT" in capsys.readouterr().err


def _sft(prompt, reply, line):
    return records.make_record(
        "sft",
        [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}],
        source_line=line,
    )


def _curation_frame():
    base = "To change the delivery address open Orders, pick the order, press Edit address and save it"
    rows = [
        _sft("How do I change the delivery address?", base + " before it ships.", 1),
        _sft("How do I change the delivery address?", base + " before it is shipped.", 2),  # a paraphrase
        _sft("How can I change the delivery address?", base + " before it ships!", 3),  # another one
        _sft("Can you write my essay?", "As an AI language model, I cannot write essays for you.", 4),
        _sft(
            "What payment methods do you take?",
            "We take cards, PayPal and bank transfers in 30 countries.",
            5,
        ),
        _sft("Do you ship abroad?", "Yes, to 40 countries; duties are shown at checkout before you pay.", 6),
        _sft("Hi", "Hello.", 7),
    ]
    return records.make_frame(rows)


def test_curate_takes_the_best_unlike_examples_and_says_why_each_other_was_left_out():
    from core.quality.curate import curate

    frame = _curation_frame()
    result = curate(frame, 3, max_similarity=0.5)
    lines = [int(frame["source_line"][p]) for p in result.chosen]
    assert len(lines) == 3 and len({1, 2, 3} & set(lines)) == 1  # one of the three paraphrases
    assert 4 not in lines and 7 not in lines  # the refusal, and the reply with least substance
    reasons = dict(zip(result.left_out["position"], result.left_out["reason"], strict=True))
    assert reasons[3] == "flagged: refusal"
    assert sum(r.startswith("too close: to line ") for r in reasons.values()) == 2
    assert reasons[6].startswith("not among the 3 best: score")
    assert result.reasons() == {"too close": 2, "flagged": 1, "not among the 3 best": 1}


def test_curate_refuses_a_bad_n():
    from core.quality.curate import curate

    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        curate(_curation_frame(), 0)


def test_cli_curate_writes_the_chosen_examples(tmp_path, capsys):
    frame = _curation_frame()
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in frame["messages"]))
    out = tmp_path / "best.jsonl"
    assert main(["quality", str(path), "--curate", "3", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["curated"]["chosen"] == 3 and summary["curated"]["left_out"]["too close"] == 2
    assert len(out.read_text().splitlines()) == 3


def test_a_language_mismatch_names_both_languages(corpus):
    frame, _expected, report = corpus
    found = [f for f in report.flags if f.code == "language_mismatch"]
    reasons = {frame["prompt_text"][f.row][:20]: f.reason for f in found}
    assert reasons["Wie kann ich meine B"] == "the prompt is in de, the reply in fr"
    assert all(f.field == "messages[1].content" and f.start == 0 for f in found)


def test_the_language_check_gives_the_same_flags_in_a_forked_child(corpus, monkeypatch, forked_calls):
    from core.profile import texts as profile_texts
    from core.quality import language

    frame, _expected, report = corpus
    monkeypatch.setattr(profile_texts, "_FORK_FROM_TEXTS", 1)
    monkeypatch.setattr(language, "_FORK_FROM_TEXTS", 1)
    forked = quality.scan_quality(frame)
    assert len(forked_calls) == 1 and forked_calls[0]._process is not None  # the child did start
    assert [f for f in forked.flags if f.code == "language_mismatch"] == [
        f for f in report.flags if f.code == "language_mismatch"
    ]


def _restated_frame():
    return records.make_frame(
        [
            _sft(
                "How do I get my money back for an order?",
                "You can ask for a refund of the order on the Orders page within thirty days of delivery.",
                1,
            ),
            _sft(
                "What is the way to obtain a refund for a purchase?",
                "Refunds for a purchase are requested from the Orders page during the thirty days"
                " after it arrives.",
                2,
            ),  # the same answer in other words: few shared word 3-grams
            _sft(
                "Do you ship abroad?", "Yes, to 40 countries; duties are shown at checkout before you pay.", 3
            ),
            _sft(
                "What payment methods do you take?",
                "We take cards, PayPal and bank transfers in 30 countries.",
                4,
            ),
        ]
    )


def test_semantic_curation_leaves_out_a_restatement_that_shares_few_words():
    from core.quality.curate import curate

    frame = _restated_frame()
    seen: list[tuple[int, int]] = []
    result = curate(frame, 4, method="semantic", progress=lambda *p: seen.append(p))
    assert result.method == "semantic"
    assert seen[-1] == (len(frame), len(frame))  # the embedding pass reported its rows
    lines = sorted(int(frame["source_line"][p]) for p in result.chosen)
    assert len({1, 2} & set(lines)) == 1 and {3, 4} <= set(lines)
    (reason,) = result.left_out["reason"]
    assert reason.startswith("too close: to line ") and "cosine" in reason


def test_lexical_curation_keeps_that_restatement():
    from core.quality.curate import curate

    result = curate(_restated_frame(), 4, method="lexical")
    assert result.method == "lexical" and len(result.chosen) == 4


def test_curation_by_meaning_without_the_model_falls_back_to_words(monkeypatch):
    from core.quality import curate as curation

    monkeypatch.setattr(curation, "_embeddings", lambda frame, progress=None: None)
    assert curation.curate(_restated_frame(), 4).method == "lexical"
    with pytest.raises(ValueError, match="embedding model is not available"):
        curation.curate(_restated_frame(), 4, method="semantic")


@pytest.mark.parametrize("closeness, kept", [("semantic", 3), ("lexical", 4)])
def test_cli_curate_by_meaning_or_by_words(tmp_path, capsys, closeness, kept):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in _restated_frame()["messages"]))
    out = tmp_path / "best.jsonl"
    args = ["quality", str(path), "--curate", "4", "--closeness", closeness, "-o", str(out), "--json"]
    assert main(args) == 0
    curated = json.loads(capsys.readouterr().out)["curated"]
    assert curated["closeness"] == closeness and curated["chosen"] == kept
