"""Token counts with a local Hugging Face tokenizer's chat template (core.hf_tokens, profile --tokenizer)."""

import json

import pytest

from core import formats, hf_tokens
from core.errors import DatasetError
from core.records import make_frame, make_record
from tests.hf_tokenizer import write_tokenizer

U = {"role": "user", "content": "Hi ?"}
A = {"role": "assistant", "content": "Hello ."}
LONG = {"role": "assistant", "content": "the answer is " * 20}


@pytest.fixture
def tokenizer_dir(tmp_path):
    return write_tokenizer(tmp_path / "tok")


def test_render_and_count_with_the_chat_template(tokenizer_dir):
    tok = hf_tokens.load_tokenizer(tokenizer_dir)
    text = tok.render([U, A])
    assert text == "<s><|im_start|>user\nHi ?<|im_end|>\n<|im_start|>assistant\nHello .<|im_end|>\n"
    # <s> <|im_start|> user Hi ? <|im_end|> <|im_start|> assistant Hello . <|im_end|>: 11 tokens
    assert tok.count(text) == 11
    assert tok.render([U], add_generation_prompt=True).endswith("<|im_start|>assistant\n")
    assert hf_tokens.load_tokenizer(tokenizer_dir / "tokenizer.json").count(text) == 11  # the file itself


def test_template_forms_special_tokens_and_tool_arguments(tmp_path):
    folder = write_tokenizer(tmp_path / "t", template=None)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["eos_token"] = {"content": "</s>", "__type": "AddedToken"}
    config["chat_template"] = [
        {"name": "tool_use", "template": "tools"},
        {
            "name": "default",
            "template": "{% for m in messages %}{{ m.tool_calls | tojson }}{% endfor %}{{ eos_token }}",
        },
    ]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tok = hf_tokens.load_tokenizer(folder)
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"city": "SF"}'}}
    text = tok.render([{"role": "assistant", "content": None, "tool_calls": [call]}])
    assert '"arguments": {"city": "SF"}' in text and text.endswith("</s>")  # a dict, as HF templates expect
    (folder / "chat_template.jinja").write_text("{{ messages | length }}")
    assert hf_tokens.load_tokenizer(folder).render([U, A]) == "2"


def test_errors_name_the_file(tmp_path, tokenizer_dir):
    with pytest.raises(DatasetError, match="no tokenizer.json .*nothing is downloaded"):
        hf_tokens.load_tokenizer(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tokenizer.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not a tokenizers file"):
        hf_tokens.load_tokenizer(tmp_path / "bad")
    bare = hf_tokens.load_tokenizer(write_tokenizer(tmp_path / "bare", template=None))
    assert not bare.has_template
    with pytest.raises(DatasetError, match="has no chat template"):
        bare.render([U, A])
    (tokenizer_dir / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": "{{ raise_exception('roles must alternate') }}"})
    )
    with pytest.raises(DatasetError, match="rejects this example: roles must alternate"):
        hf_tokens.load_tokenizer(tokenizer_dir).render([U])


def test_length_report_counts_each_kind_as_its_trainer_does(tokenizer_dir):
    tok = hf_tokens.load_tokenizer(tokenizer_dir)
    frame = make_frame(
        [
            make_record("sft", [U, A], source_line=1),
            make_record("sft", [U, LONG], source_line=2),
            make_record("preference", [U], chosen=[A], rejected=[LONG], source_line=3),
            make_record("preference", [U], chosen=[A], source_line=4),  # one-sided (KTO)
            make_record("rft", [U], source_line=5),
        ]
    )
    counts = hf_tokens.count_examples(frame, tok)
    long_count = tok.count(tok.render([U, LONG]))
    assert counts == [11, long_count, long_count, 11, tok.count(tok.render([U], add_generation_prompt=True))]
    report = hf_tokens.length_report(frame, tok, max_length=20)
    assert report["over"] == 2 and report["over_lines"] == [2, 3] and report["max"] == long_count
    assert report["rows"] == 5 and report["template"] is True


def test_text_rows_are_counted_as_they_are_without_a_template(tmp_path):
    tok = hf_tokens.load_tokenizer(write_tokenizer(tmp_path / "bare", template=None))
    rows = [{"text": "the answer is " * (i + 1)} for i in range(10)]
    loaded = formats.load_dataset("".join(json.dumps(r) + "\n" for r in rows).encode(), "lm.jsonl")
    assert hf_tokens.count_examples(loaded.records, tok) == [3 * (i + 1) for i in range(10)]


def test_profile_cli_flags_rows_over_the_max_length(tmp_path, tokenizer_dir, capsys):
    from core.__main__ import main

    source = tmp_path / "kto.jsonl"
    rows = [
        {"prompt": "Hi ?", "completion": ("the answer is " * (i * 5)) + "Hello .", "label": i % 2 == 0}
        for i in range(12)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["profile", str(source), "--tokenizer", str(tokenizer_dir), "--max-length", "60"]
    assert main([*argv, "--json"]) == 0
    tokens = json.loads(capsys.readouterr().out)["model_tokens"]
    tok = hf_tokens.load_tokenizer(tokenizer_dir)
    expected = [
        tok.count(
            tok.render(
                [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["completion"]}]
            )
        )
        for r in rows
    ]
    assert tokens["max"] == max(expected) and tokens["over"] == sum(n > 60 for n in expected) > 0
    assert tokens["over_lines"] == [i + 1 for i, n in enumerate(expected) if n > 60]
    assert main(argv) == 0
    assert (
        f"examples are longer than 60 tokens (a trainer truncates them): line {tokens['over_lines'][0]}"
        in (capsys.readouterr().out)
    )
    assert main(["profile", str(source), "--max-length", "60"]) == 2
    assert "--max-length needs --tokenizer" in capsys.readouterr().err
    assert main(["profile", str(source), "--tokenizer", str(tmp_path / "nope")]) == 2


def test_with_a_local_tokenizer_the_token_limit_check_holds_its_max_length(tmp_path, tokenizer_dir, capsys):
    """#16: "9 of 9 examples are longer than 8 tokens" and "[PASS] token_limit" must not both be said."""
    from core.__main__ import main

    source = tmp_path / "sft.jsonl"
    source.write_text(
        "".join(json.dumps({"messages": [U, {**A, "content": f"Hello {i} ."}]}) + "\n" for i in range(9))
    )
    argv = ["profile", str(source), "--tokenizer", str(tokenizer_dir), "--max-length", "8"]
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    check = next(c for c in payload["checks"] if c["id"] == "token_limit")
    assert payload["model_tokens"]["over"] == 9
    assert check["status"] == "fail" and check["value"] == 9 and payload["tokens"]["limit"] == 8
    assert "8 tokens" in check["threshold"] and "tok's chat template" in check["threshold"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "9 of 9 examples are longer than 8 tokens" in out and "[FAIL] token_limit" in out
    assert main([*argv[:-1], "64"]) == 0  # within the trainer's length: the check passes, naming what counted
    assert "[PASS] token_limit: Every example fits (tok's chat template)." in capsys.readouterr().out
    assert main(["profile", str(source)]) == 0  # without the tokenizer: the target model's limit
    assert "[PASS] token_limit: Every example fits (gpt-4.1-mini)." in capsys.readouterr().out


def test_convert_to_text_with_the_tokenizers_chat_template(tmp_path, tokenizer_dir):
    from core.__main__ import main

    source = tmp_path / "chat.jsonl"
    source.write_text("".join(json.dumps({"messages": [U, A]}) + "\n" for _ in range(10)))
    out = tmp_path / "text.jsonl"
    assert (
        main(["convert", str(source), "--to", "trl-text", "--tokenizer", str(tokenizer_dir), "-o", str(out)])
        == 0
    )
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert texts == [hf_tokens.load_tokenizer(tokenizer_dir).render([U, A])] * 10
    bare = write_tokenizer(tmp_path / "bare", template=None)
    assert main(["convert", str(source), "--to", "trl-text", "--tokenizer", str(bare), "-o", str(out)]) == 2


def test_examples_the_template_rejects_are_named_not_fatal(tmp_path):
    folder = write_tokenizer(tmp_path / "t")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["chat_template"] = (
        "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}{{ m.content }}{% endfor %}"
    )
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    system = {"role": "system", "content": "Be brief ."}
    frame = make_frame(
        [make_record("sft", [U, A], source_line=1), make_record("sft", [system, U, A], source_line=2)]
    )
    report = hf_tokens.length_report(frame, hf_tokens.load_tokenizer(folder), max_length=100)
    assert report["rows"] == 1 and report["rejected"] == 1 and report["rejected_lines"] == [2]
    assert "System role not supported" in report["rejected_reason"] and report["over"] == 0
