"""The data card: the Hugging Face front matter (one config per format), the loading section, the counts."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import pandas as pd

import core
from core.export.request import BundleRequest, _rows
from core.export.targets import HF_SPLITS, SPLIT_NAMES, file_extension
from core.export.write import WrittenFile
from core.report import DataCardInputs, render_data_card


def hf_builder(fmt: str) -> str:
    """Return the ``datasets`` builder that reads ``fmt``'s files (``json``, ``csv`` or ``parquet``)."""
    return {"jsonl": "json", "json": "json"}.get(file_extension(fmt), file_extension(fmt))


def card_builder(formats_wanted: Sequence[str]) -> str:
    """Return the one builder the card's configs use: the one most formats need (first on a tie).

    ``datasets`` picks a single builder for a whole dataset directory from the files of its first
    config, so the configs can only name formats read by that builder.
    """
    builders = [hf_builder(f) for f in formats_wanted]
    return max(dict.fromkeys(builders), key=builders.count)


def dataset_card_parts(files: Sequence[WrittenFile], request: BundleRequest) -> tuple[str, str]:
    """Return the Hugging Face card's YAML front matter and its "how to load" section.

    The front matter has one config per format read by :func:`card_builder` (``val`` as the
    ``validation`` split; a split with no rows is left out, ``datasets`` cannot build it from an
    empty file); the first is the default. Formats another builder reads are named in the section
    with the ``load_dataset`` call that reads them.
    """
    title = request.card.title if request.card is not None else "Dataset"
    builder = card_builder(request.formats)
    configs: list[str] = []
    others: list[str] = []
    for fmt in request.formats:
        parts = [f for f in files if f.format == fmt and f.split in HF_SPLITS and f.rows]
        if not parts:
            continue
        if hf_builder(fmt) != builder:
            paths = ", ".join(f'"{HF_SPLITS[str(f.split)]}": "{f.name}"' for f in parts)
            others.append(f'- {fmt}: `load_dataset("{hf_builder(fmt)}", data_files={{{paths}}})`')
            continue
        entry = [f"- config_name: {fmt}"] + (["  default: true"] if not configs else []) + ["  data_files:"]
        for f in parts:
            entry += [f"  - split: {HF_SPLITS[str(f.split)]}", f"    path: {f.name}"]
        configs.append("\n".join(entry))
    front = ["---", f"pretty_name: {json.dumps(title, ensure_ascii=False)}", "tags:", "- trainset-studio"]
    if configs:
        front += ["configs:", *configs]
    names = [c.split("\n", 1)[0].removeprefix("- config_name: ") for c in configs]
    section = ["## Loading with Hugging Face datasets", ""]
    if names:
        section.append(
            "Unzip the bundle, then `datasets.load_dataset(BUNDLE_DIR, name=FORMAT)` with FORMAT one of "
            + ", ".join(f"`{n}`" for n in names)
            + " (splits `train`, `validation`, `test`)."
        )
    if others:
        section += [
            "",
            "Files another builder reads (`datasets` takes one builder per directory; paths inside "
            "BUNDLE_DIR):",
            *others,
        ]
    return "\n".join([*front, "---", "", ""]), "\n".join(section) + "\n"


def _card_text(splits: Mapping[str, pd.DataFrame], request: BundleRequest, created_at: str) -> str:
    base = request.card or DataCardInputs()
    frames = [splits[s] for s in SPLIT_NAMES if s in splits]
    union = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    card = DataCardInputs(
        **{
            **base.__dict__,
            "dataset_version": request.dataset_version,
            "app_version": core.__version__,
            "created_at": created_at,
            "seed": request.seed,
            "fractions": dict(request.fractions),
            "split_counts": {s: len(splits[s]) for s in SPLIT_NAMES if s in splits},
            "per_category": per_category(splits),
            "sources": _value_counts(union, "source", default="real"),
            "quarantined": _rows(request.quarantine),
            "lock": request.lock,
            "formats": tuple(request.formats),
        }
    )
    return render_data_card(card)


def per_category(splits: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Return ``{category: {split: rows}}`` ("(none)" for rows without a category)."""
    out: dict[str, dict[str, int]] = {}
    for name in SPLIT_NAMES:
        for category, n in _value_counts(splits.get(name, pd.DataFrame()), "category", "(none)").items():
            out.setdefault(category, {s: 0 for s in SPLIT_NAMES})[name] = n
    return dict(sorted(out.items()))


def _value_counts(frame: pd.DataFrame, column: str, default: str) -> dict[str, int]:
    if frame.empty:
        return {}
    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
    labels = [default if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
    return dict(pd.Series(labels).value_counts().sort_index().items())
