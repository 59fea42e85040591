"""Ingest benchmark: read + validate + canonicalise + count tokens for generated SFT data.

Usage::

    .venv/bin/python bench/ingest.py [--rows 100000] [--model gpt-4.1-mini] [--seed 0]

Generates ``--rows`` realistic OpenAI SFT examples (system + user + assistant, some multi-turn,
varied lengths, a little non-English text) as JSONL in a temporary folder, then runs, each in a
fresh subprocess so the peak memory of one does not hide in the other's:

- ``pipeline``: ``core.formats.load_dataset(path)`` then ``core.tokens.count_frame(records)``;
- ``loop-tiktoken`` / ``loop-bpe-openai``: a per-row loop in the style of OpenAI's data-prep
  notebook (``Chat_finetuning_data_prep.ipynb``): ``json.loads`` per line, the cookbook's format
  checks, and the cookbook's ``num_tokens_from_messages``, which fetches its encoder per call
  (from a cache, as tiktoken's registry does). With tiktoken itself (its vocabulary files are
  placed offline from bpe-openai's hash-identical copies; tiktoken verifies the SHA-256) when
  tiktoken is installed, and with bpe-openai's tiktoken-compatible ``Encoding``.

Prints examples per second, CPU seconds, the ratios, and the peak RSS of each subprocess.
Wall times on a shared machine include other processes' load; CPU seconds do not.
Targets (issue 2): >= 20,000 examples/s on 2 cores and < 2 GB peak for the pipeline.
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 20_000
TARGET_PEAK_MB = 2048

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
    """Read, validate, canonicalise and count tokens through core."""
    from core.formats import load_dataset
    from core.tokens import count_frame

    cpu, start = _cpu_seconds(), time.perf_counter()
    result = load_dataset(path)
    loaded, loaded_cpu, own = time.perf_counter(), _cpu_seconds(), _cpu_seconds(children=False)
    counts = count_frame(result.records, model=model)
    end = time.perf_counter()
    return {
        "rows": int(len(result.records)),
        "seconds": end - start,
        "load_seconds": loaded - start,
        "count_seconds": end - loaded,
        "tokens": int(counts["total_tokens"].sum()),
        "cpu_seconds": _cpu_seconds() - cpu,
        "load_cpu": loaded_cpu - cpu,
        "count_cpu": _cpu_seconds() - loaded_cpu,
        "count_cpu_parent": _cpu_seconds(children=False) - own,
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


def run_notebook(path: Path, model: str, tokenizer: str = "tiktoken") -> dict:
    """The cookbook's per-row loop: json.loads, format checks, token count per example."""
    from core.tokens import encoding_name_for_model

    encoding_name = encoding_name_for_model(model)
    _get_encoding(encoding_name, tokenizer)  # built once before the loop, as in the notebook
    cpu, start = _cpu_seconds(), time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        dataset = [json.loads(line) for line in handle]
    errors: dict[str, int] = {}
    for ex in dataset:
        _cookbook_errors(ex, errors)
    total = 0
    for ex in dataset:
        total += _num_tokens_from_messages(ex["messages"], encoding_name, tokenizer)
    end = time.perf_counter()
    return {
        "rows": len(dataset),
        "seconds": end - start,
        "cpu_seconds": _cpu_seconds() - cpu,
        "tokens": total,
        "errors": errors,
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
    else:
        result = run_notebook(path, model, variant.removeprefix("loop-"))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # A forked counter shares its parent's pages; its own peak is reported apart.
    result["child_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def _run_child(variant: str, path: Path, model: str) -> dict:
    command = [sys.executable, __file__, "--child", variant, "--path", str(path), "--model", model]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(label: str, result: dict) -> float:
    rate = result["rows"] / result["seconds"]
    print(f"{label}:")
    print(f"  {result['rows']:,} rows in {result['seconds']:.2f} s wall = {rate:,.0f} examples/s")
    print(f"  {result['cpu_seconds']:.2f} CPU-s (all processes), {result['tokens']:,} tokens")
    peak, child = result["peak_mb"], result["child_peak_mb"]
    print(f"  peak RSS {peak:.0f} MB (a forked counter's own peak: {child:.0f} MB, mostly shared pages)")
    return rate


def _loops() -> list[str]:
    loops = ["loop-bpe-openai"]
    if importlib.util.find_spec("tiktoken") is not None:
        loops.insert(0, "loop-tiktoken")
    return loops


def _compare(args: argparse.Namespace, path: Path) -> None:
    pipeline = _run_child("pipeline", path, args.model)
    rate = _report("pipeline: core.formats.load_dataset + core.tokens.count_frame", pipeline)
    load, count = pipeline["load_seconds"], pipeline["count_seconds"]
    load_cpu, count_cpu = pipeline["load_cpu"], pipeline["count_cpu"]
    print(f"  of which load_dataset {load:.2f} s ({load_cpu:.2f} CPU-s, one process)")
    parent = pipeline["count_cpu_parent"]
    print(
        f"           count_frame  {count:.2f} s ({count_cpu:.2f} CPU-s: {parent:.2f} in this process, "
        f"{count_cpu - parent:.2f} in the forked one)"
    )
    for loop in [] if args.skip_notebook else _loops():
        result = _run_child(loop, path, args.model)
        tokenizer = loop.removeprefix("loop-")
        _report(
            f"notebook-style loop ({tokenizer}): json.loads + cookbook checks + num_tokens_from_messages",
            result,
        )
        wall, cpu = result["seconds"] / pipeline["seconds"], result["cpu_seconds"] / pipeline["cpu_seconds"]
        print(f"  pipeline / loop: {wall:.2f}x the loop's speed (wall), {1 / cpu:.2f}x its CPU time")
        if result["tokens"] != pipeline["tokens"]:
            print(f"  token totals differ: pipeline {pipeline['tokens']:,}, loop {result['tokens']:,}")
    met = rate >= TARGET_RATE and pipeline["peak_mb"] < TARGET_PEAK_MB
    print(f"target >= {TARGET_RATE:,} examples/s and < {TARGET_PEAK_MB} MB: {'met' if met else 'MISSED'}")
    load_avg = os.getloadavg()[0]
    if load_avg > 1.0:
        print(
            f"note: 1-min load average was {load_avg:.1f} on this machine; wall times include that contention"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--model", default="gpt-4.1-mini")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--child", choices=("pipeline", "loop-tiktoken", "loop-bpe-openai"), help=argparse.SUPPRESS
    )
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-notebook", action="store_true", help="time only the pipeline, not the loops")
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
