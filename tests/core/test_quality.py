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
