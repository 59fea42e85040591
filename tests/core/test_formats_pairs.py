"""Property: between every pair of formats convert can do, a row's content comes back or its loss is said.

Rows are drawn with what real files hold and formats differ on: system prompts, several turns,
tool calls with ids and ``parallel_tool_calls``, empty replies, reference fields. A row written
from format A to format B and read back as B either has the same content (messages, chosen,
rejected; for RFT also its reference fields) or the write reported a loss on that row's line.
"""

import json

import hypothesis.strategies as hs
import pytest
from hypothesis import HealthCheck, given, settings

from core import formats
from core.records import make_frame, make_record

SUFFIX = {"alpaca": "json", "csv": "csv"}
WORDS = hs.sampled_from(["refund", "order", "late", "card", "thanks", "help", "box", "why", "été", "配送"])
TEXT = hs.lists(WORDS, min_size=1, max_size=6).map(" ".join)
REPLY = hs.one_of(TEXT, hs.just(""))  # an empty reply ("Assistant: " then nothing) is real data
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("sft", "preference", "rft")
PAIRS = {
    kind: [(a, b) for a in formats.formats_for_kind(kind) for b in formats.formats_for_kind(kind)]
    for kind in KINDS
}
TOOLS = [{"type": "function", "function": {"name": "track_order", "parameters": {"type": "object"}}}]


@hs.composite
def tool_exchange(draw):
    call_id = draw(hs.sampled_from(["call_1", "call_abc", "toolu_01"]))
    arguments = json.dumps({"order": draw(hs.integers(1, 9999))})
    call = {"id": call_id, "type": "function", "function": {"name": "track_order", "arguments": arguments}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": draw(TEXT)},
    ]


@hs.composite
def prompt(draw, *, turns=True):
    messages = [{"role": "system", "content": draw(TEXT)}] if draw(hs.booleans()) else []
    for _ in range(draw(hs.integers(0, 1)) if turns else 0):
        messages += [{"role": "user", "content": draw(TEXT)}, {"role": "assistant", "content": draw(TEXT)}]
    return [*messages, {"role": "user", "content": draw(TEXT)}]


@hs.composite
def example(draw, kind):
    messages = draw(prompt())
    extra, tools = {"category": draw(hs.sampled_from(["billing", "shipping"]))}, None
    if kind == "sft":
        if draw(hs.booleans()):
            messages += draw(tool_exchange())
            tools, extra["parallel_tool_calls"] = TOOLS, draw(hs.booleans())
        messages.append({"role": "assistant", "content": draw(REPLY)})
        return make_record("sft", messages, tools=tools, extra=extra)
    if kind == "preference":
        good, bad = draw(REPLY), draw(TEXT)
        chosen, rejected = [{"role": "assistant", "content": good}], [{"role": "assistant", "content": bad}]
        return make_record("preference", messages, chosen=chosen, rejected=rejected, extra=extra)
    extra["answer"] = draw(hs.one_of(TEXT, hs.integers(0, 99)))
    return make_record("rft", draw(prompt(turns=False)), extra=extra)


def table(records):
    for line, record in enumerate(records, start=1):
        record["source_line"] = line
    return make_frame(records)


def canonical(messages):
    """Messages as content: tool-call arguments parsed, null keys and weight 1 (the default) left out."""
    out = []
    for message in messages or []:
        message = {k: v for k, v in message.items() if v is not None and not (k == "weight" and v == 1)}
        if "tool_calls" in message:
            message["tool_calls"] = [
                {
                    **c,
                    "type": "function",
                    "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])},
                }
                for c in message["tool_calls"]
            ]
        out.append(message)
    return out


def contents(record, target=None):
    """What a row holds; a pair written as KTO is two unpaired rows, one per side."""
    messages, chosen, rejected = (canonical(record[k]) for k in ("messages", "chosen", "rejected"))
    reference = {}
    if record["kind"] == "rft":
        extra = record["extra"] or {}
        reference = {k: str(v) for k, v in extra.items() if k != "category"}
    if target == "trl-kto" and chosen and rejected:
        return [(messages, chosen, [], reference), (messages, [], rejected, reference)]
    return [(messages, chosen, rejected, reference)]


def write_and_read(frame, target):
    data, losses = formats.write_dataset(frame, target)
    said = {p.line for p in losses}
    if not formats.rows_in(data, target):
        return [], said
    back = formats.load_dataset(data, f"out.{SUFFIX.get(target, 'jsonl')}", format=target)
    assert not back.invalid, (target, back.quarantine.to_dict("records")[:2])
    return back.records.to_dict("records"), said


def assert_kept_or_said(frame, target):
    """Every row of ``frame`` comes back from ``target`` with its content, or its loss was reported."""
    back, said = write_and_read(frame, target)
    found = [c for record in back for c in contents(record)]
    for record in frame.to_dict("records"):
        if record["source_line"] in said:
            continue
        for content in contents(record, target):
            assert content in found, (target, record["source_line"], content, found[:2])
    return back


@pytest.mark.parametrize("kind", KINDS)
def test_every_pair_keeps_content_or_says_what_it_lost(kind):
    @SETTINGS
    @given(hs.lists(example(kind), min_size=1, max_size=3), hs.sampled_from(PAIRS[kind]))
    def check(records, pair):
        a, b = pair
        in_a = assert_kept_or_said(table(records), a)
        if in_a:
            for line, record in enumerate(in_a, start=1):
                record["source_line"] = line
            assert_kept_or_said(make_frame(in_a), b)

    check()
