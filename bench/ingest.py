"""Ingest benchmark: read + validate + canonicalise + count tokens for generated SFT data.

Usage::

    .venv/bin/python bench/ingest.py [--rows 100000] [--model gpt-4.1-mini] [--seed 0] [--rounds 3]

Generates ``--rows`` realistic OpenAI SFT examples (system + user + assistant, some multi-turn,
varied lengths, a little non-English text) as JSONL in a temporary folder, then runs, each in a
fresh subprocess so the peak memory of one does not hide in the other's, interleaved over
``--rounds`` rounds (every variant once per round, the order turning) so a change of load on a
shared machine falls on all of them:

- ``pipeline``: ``core.formats.load_dataset(path, model=...)``: validation, the canonical table
  and every example's training tokens (column ``n_tokens``);
- ``loop-tiktoken`` / ``loop-bpe-openai``: a per-row loop in the style of OpenAI's data-prep
  notebook (``Chat_finetuning_data_prep.ipynb``): ``json.loads`` per line, the cookbook's format
  checks, and the cookbook's ``num_tokens_from_messages``, which fetches its encoder per call
  (from a cache, as tiktoken's registry does). With tiktoken itself (its vocabulary files are
  placed offline from bpe-openai's hash-identical copies; tiktoken verifies the SHA-256) when
  tiktoken is installed, and with bpe-openai's tiktoken-compatible ``Encoding``;
- ``batch-tiktoken``: ``orjson.loads`` per line, the cookbook's checks, then one call of tiktoken's
  ``encode_ordinary_batch`` over every value with ``num_threads`` = the machine's cores.

Prints, per variant, the median wall time and CPU-seconds (of every process it ran) over the
rounds, each round's figures, the peak RSS, and the pipeline's ratios to each peer: wall beside
CPU. Wall times on a shared machine include other processes' load; CPU-seconds less so.
Targets (issue 21): >= 5x the tiktoken loop and >= 2x the tiktoken batch, peak <= 1 GB.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_LOOP_RATIO = 5.0
TARGET_BATCH_RATIO = 2.0
TARGET_PEAK_MB = 1024

_SYSTEM_PROMPTS = (
    "You are a helpful customer support assistant for Acme Online. Be concise and polite.",
    "You are Aria, the virtual assistant of Northwind Bank. Never ask for full card numbers or passwords. "
    "If the customer reports fraud, tell them to call the number on the back of their card.",
    "You answer questions about orders, shipping, returns and refunds. If you do not know, say so and "
    "offer to open a ticket.",
    "Réponds en français, poliment et brièvement. Tu es l'assistant du service client.",
    "You are a technical support agent for a SaaS analytics product. Give step-by-step instructions.",
)
_WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "the a to and of my your I you it is was for on in with order account refund package delivery "
    "shipping tracking number password reset login email invoice charge card payment subscription "
    "cancel plan upgrade downgrade app website error page browser update please could would can "
    "help thanks thank hello hi still not yet already yesterday today week days ago received "
    "missing damaged wrong size color item return label store credit support ticket agent manager "
    "phone call message issue problem question answer sorry understand check let me see here steps "
    "first then next finally click settings profile billing history download export report data "
    "dashboard chart filter date range team member invite permission admin role access denied "
    "expired link verification code two-factor authentication device new old address street city "
    "zip country international fee tax discount coupon promo code applied total balance statement"
).split()
_EXTRA = ("Müller", "naïve", "café", "São Paulo", "日本語", "заказ", "¿dónde?", "😊", "€49.99", "#A-10234")


def _sentence(rng: np.random.Generator, words: np.ndarray) -> str:
    n = int(rng.integers(4, 22))
    picked = words[rng.integers(0, len(words), n)].tolist()
    if rng.random() < 0.3:
        picked.insert(int(rng.integers(0, n)), str(rng.integers(1000, 99999)))
    if rng.random() < 0.08:
        picked.insert(int(rng.integers(0, n)), _EXTRA[int(rng.integers(0, len(_EXTRA)))])
    text = " ".join(picked)
    return text[0].upper() + text[1:] + (". " if rng.random() < 0.85 else "? ")


def _paragraph(rng: np.random.Generator, words: np.ndarray, mean_sentences: float) -> str:
    n = max(1, int(rng.lognormal(np.log(mean_sentences), 0.7)))
    return "".join(_sentence(rng, words) for _ in range(min(n, 60))).strip()


def _example(rng: np.random.Generator, words: np.ndarray) -> dict:
    messages = [{"role": "system", "content": _SYSTEM_PROMPTS[int(rng.integers(0, len(_SYSTEM_PROMPTS)))]}]
    turns = 1 if rng.random() < 0.85 else int(rng.integers(2, 5))
    for _ in range(turns):
        messages.append({"role": "user", "content": _paragraph(rng, words, 2.0)})
        messages.append({"role": "assistant", "content": _paragraph(rng, words, 4.0)})
    example: dict = {"messages": messages}
    if rng.random() < 0.5:
        example["category"] = ("billing", "shipping", "returns", "account", "technical")[
            int(rng.integers(0, 5))
        ]
    return example


def generate(path: Path, rows: int, *, seed: int) -> int:
    """Write ``rows`` generated SFT examples to ``path`` (JSONL); return the file size in bytes."""
    rng = np.random.default_rng(seed)
    words = np.array(_WORDS, dtype=object)
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(rows):
            handle.write(json.dumps(_example(rng, words), ensure_ascii=False) + "\n")
    return path.stat().st_size


# --- the two variants, each run in its own subprocess -------------------------------------------


def run_pipeline(path: Path, model: str) -> dict:
    """Read, validate, canonicalise and count every example's tokens through core."""
    from core.formats import load_dataset

    cpu, start = _cpu_seconds(), time.perf_counter()
    result = load_dataset(path, model=model)
    end = time.perf_counter()
    return {
        "rows": int(len(result.records)),
        "seconds": end - start,
        "tokens": int(result.records["n_tokens"].sum()),
        "cpu_seconds": _cpu_seconds() - cpu,
    }


_COOKBOOK_KEYS = {"role", "content", "name", "function_call", "weight"}
_COOKBOOK_ROLES = ("system", "user", "assistant", "function")


def _cookbook_errors(ex: object, errors: dict[str, int]) -> None:
    # Chat_finetuning_data_prep.ipynb, "Format validation", verbatim logic.
    if not isinstance(ex, dict):
        errors["data_type"] = errors.get("data_type", 0) + 1
        return
    messages = ex.get("messages", None)
    if not messages:
        errors["missing_messages_list"] = errors.get("missing_messages_list", 0) + 1
        return
    for message in messages:
        if "role" not in message or "content" not in message:
            errors["message_missing_key"] = errors.get("message_missing_key", 0) + 1
        if any(k not in _COOKBOOK_KEYS for k in message):
            errors["message_unrecognized_key"] = errors.get("message_unrecognized_key", 0) + 1
        if message.get("role", None) not in _COOKBOOK_ROLES:
            errors["unrecognized_role"] = errors.get("unrecognized_role", 0) + 1
        content = message.get("content", None)
        function_call = message.get("function_call", None)
        if (not content and not function_call) or not isinstance(content, str):
            errors["missing_content"] = errors.get("missing_content", 0) + 1
    if not any(message.get("role", None) == "assistant" for message in messages):
        errors["example_missing_assistant_message"] = errors.get("example_missing_assistant_message", 0) + 1


_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def _offline_tiktoken_cache() -> Path:
    """Put bpe-openai's copies of tiktoken's vocabulary files where tiktoken looks for them.

    tiktoken checks each file against its own expected SHA-256, so this is tiktoken proper.
    """
    spec = importlib.util.find_spec("bpe_openai")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    cache = Path(tempfile.gettempdir()) / "trainset_bench_tiktoken"
    cache.mkdir(exist_ok=True)
    for name in ("o200k_base", "cl100k_base"):
        target = cache / hashlib.sha1(_TIKTOKEN_URL.format(name).encode()).hexdigest()
        if not target.exists():
            target.write_bytes(gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes()))
    return cache


@functools.cache
def _get_encoding(name: str, tokenizer: str):  # noqa: ANN202 - cached like tiktoken's registry
    if tokenizer == "tiktoken":
        os.environ["TIKTOKEN_CACHE_DIR"] = str(_offline_tiktoken_cache())
        import tiktoken

        return tiktoken.get_encoding(name)
    import bpe_openai

    return bpe_openai.get_encoding(name)


def _num_tokens_from_messages(messages: list[dict], encoding_name: str, tokenizer: str) -> int:
    encoding = _get_encoding(encoding_name, tokenizer)  # looked up per example, as in the cookbook
    num_tokens = 0
    for message in messages:
        num_tokens += 3
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += 1
    return num_tokens + 3


def _read_checked(path: Path, loads: Callable[[bytes], Any]) -> list:
    with path.open("rb") as handle:
        dataset = [loads(line) for line in handle]
    errors: dict[str, int] = {}
    for ex in dataset:
        _cookbook_errors(ex, errors)
    return dataset


def run_notebook(path: Path, model: str, tokenizer: str = "tiktoken") -> dict:
    """The cookbook's per-row loop: json.loads, format checks, token count per example."""
    from core.tokens import encoding_name_for_model

    encoding_name = encoding_name_for_model(model)
    _get_encoding(encoding_name, tokenizer)  # built once before the loop, as in the notebook
    cpu, start = _cpu_seconds(), time.perf_counter()
    dataset = _read_checked(path, json.loads)
    total = 0
    for ex in dataset:
        total += _num_tokens_from_messages(ex["messages"], encoding_name, tokenizer)
    end = time.perf_counter()
    return {
        "rows": len(dataset),
        "seconds": end - start,
        "cpu_seconds": _cpu_seconds() - cpu,
        "tokens": total,
    }


def run_batch(path: Path, model: str) -> dict:
    """orjson per line, the cookbook's checks, one ``encode_ordinary_batch`` over every value."""
    import orjson

    from core.tokens import encoding_name_for_model

    encoding = _get_encoding(encoding_name_for_model(model), "tiktoken")
    cpu, start = _cpu_seconds(), time.perf_counter()
    dataset = _read_checked(path, orjson.loads)
    values, fixed = [], 0
    for ex in dataset:
        fixed += 3
        for message in ex["messages"]:
            fixed += 3 + (1 if "name" in message else 0)
            values.extend(message.values())
    encoded = encoding.encode_ordinary_batch(values, num_threads=os.cpu_count() or 1)
    total = fixed + sum(len(ids) for ids in encoded)
    end = time.perf_counter()
    return {
        "rows": len(dataset),
        "seconds": end - start,
        "cpu_seconds": _cpu_seconds() - cpu,
        "tokens": total,
    }


def _cpu_seconds(*, children: bool = True) -> float:
    usages = [resource.getrusage(resource.RUSAGE_SELF)]
    if children:
        usages.append(resource.getrusage(resource.RUSAGE_CHILDREN))
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


def _child(variant: str, path: Path, model: str) -> None:
    sys.path.insert(0, str(ROOT))
    if variant == "pipeline":
        result = run_pipeline(path, model)
    elif variant == "batch-tiktoken":
        result = run_batch(path, model)
    else:
        result = run_notebook(path, model, variant.removeprefix("loop-"))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # A forked worker shares its parent's pages; its own peak is reported apart.
    result["child_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def _run_child(variant: str, path: Path, model: str) -> dict:
    command = [sys.executable, __file__, "--child", variant, "--path", str(path), "--model", model]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


_LABELS = {
    "pipeline": "core.formats.load_dataset(path, model=...)",
    "loop-tiktoken": "cookbook loop, tiktoken: json.loads + checks + num_tokens_from_messages",
    "loop-bpe-openai": "cookbook loop, bpe-openai's tiktoken-compatible Encoding",
    "batch-tiktoken": "orjson + checks + tiktoken encode_ordinary_batch(num_threads=cores)",
}


def _variants(args: argparse.Namespace) -> list[str]:
    peers = [] if args.skip_peers else ["loop-bpe-openai"]
    if not args.skip_peers and importlib.util.find_spec("tiktoken") is not None:
        peers[:0] = ["loop-tiktoken", "batch-tiktoken"]
    return ["pipeline", *peers]


def _compare(args: argparse.Namespace, path: Path) -> None:
    variants = _variants(args)
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for round_ in range(args.rounds):
        order = variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
        for variant in order:
            result = _run_child(variant, path, args.model)
            runs[variant].append(result)
            print(
                f"round {round_ + 1} {variant:16s} {result['seconds']:6.2f} s wall "
                f"{result['cpu_seconds']:6.2f} CPU-s  {result['tokens']:,} tokens",
                flush=True,
            )
    medians = {v: _medians(results) for v, results in runs.items()}
    print(f"\nmedians of {args.rounds} round(s), {runs['pipeline'][0]['rows']:,} rows:")
    for variant, (wall, cpu, peak) in medians.items():
        rate = runs[variant][0]["rows"] / wall
        print(
            f"  {variant:16s} {wall:6.2f} s wall ({rate:8,.0f} rows/s) {cpu:6.2f} CPU-s  "
            f"peak {peak:5.0f} MB  {_LABELS[variant]}"
        )
    wall, cpu, peak = medians["pipeline"]
    child = max(r["child_peak_mb"] for r in runs["pipeline"])
    print(f"  (the pipeline's forked token worker's own peak: {child:.0f} MB, mostly shared pages)")
    tokens = runs["pipeline"][0]["tokens"]
    verdicts = [peak <= TARGET_PEAK_MB]
    for variant in variants[1:]:
        peer_wall, peer_cpu, _ = medians[variant]
        wall_ratio, cpu_ratio = peer_wall / wall, peer_cpu / cpu
        target = TARGET_BATCH_RATIO if variant.startswith("batch") else TARGET_LOOP_RATIO
        if variant != "loop-bpe-openai":
            verdicts.append(wall_ratio >= target)
        print(
            f"  pipeline vs {variant:16s} {wall_ratio:5.2f}x its speed (wall), "
            f"{cpu_ratio:5.2f}x (CPU-s: peer / pipeline)"
            + (f"  (target >= {target:.0f}x)" if variant != "loop-bpe-openai" else "")
        )
        if runs[variant][0]["tokens"] != tokens:
            print(f"  token totals differ: pipeline {tokens:,}, {variant} {runs[variant][0]['tokens']:,}")
    print(f"targets (wall ratios, peak <= {TARGET_PEAK_MB} MB): {'met' if all(verdicts) else 'MISSED'}")
    load_avg = os.getloadavg()
    print(f"1/5/15-min load average at the end: {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f}")


def _medians(results: list[dict]) -> tuple[float, float, float]:
    return (
        float(np.median([r["seconds"] for r in results])),
        float(np.median([r["cpu_seconds"] for r in results])),
        float(max(r["peak_mb"] for r in results)),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--model", default="gpt-4.1-mini")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are reported)")
    parser.add_argument("--child", choices=tuple(_LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-peers", action="store_true", help="time only the pipeline")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.path, args.model)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        path = Path(tmp) / "sft.jsonl"
        started = time.perf_counter()
        size = generate(path, args.rows, seed=args.seed)
        elapsed = time.perf_counter() - started
        print(f"generated {args.rows:,} SFT examples ({size / 1e6:.1f} MB) in {elapsed:.1f} s")
        _compare(args, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
