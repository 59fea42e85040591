"""The export bundle: train / val / test in the chosen formats, a manifest and a data card, in one zip.

The data card is the bundle's ``README.md``: a Hugging Face dataset card whose YAML front
matter names one config per format (its split files), so the unzipped bundle loads with
``datasets.load_dataset(bundle_dir, name="trl-messages")`` (splits ``train``, ``validation``,
``test``).

Every file is written with :func:`core.formats.write_dataset` and read back before it is
zipped: OpenAI-format files are validated again with :func:`core.formats.load_dataset`
(errors block the bundle), and every JSONL file is read with pyarrow's JSON reader, the
reader behind ``datasets.load_dataset("json", ...)``. pyarrow needs one type per key, so
when a file mixes TRL's standard (string) and conversational (message list) rows, the
strings become one-message lists, and when it mixes string and list message ``content``
the strings become ``[{"type": "text", ...}]`` parts (equivalent for OpenAI and TRL, and
lossless).

The modules: ``targets`` (split names, formats, extensions), ``write`` (one split in one
format), ``uniform`` (one type per key for pyarrow), ``check`` (reading a written file back),
``request`` (what goes in, what comes out), ``card`` (the data card), ``bundle`` (the zip and
its manifest), ``cost`` (fine-tuning cost).
"""

from __future__ import annotations

from core.export.bundle import build_bundle, build_manifest, check_formats, quarantine_jsonl
from core.export.card import card_builder, dataset_card_parts, hf_builder, per_category
from core.export.check import check_file
from core.export.cost import finetune_cost, finetune_cost_dict
from core.export.request import Bundle, BundleRequest
from core.export.targets import (
    CARD_NAME,
    EXPORT_FORMATS,
    HF_SPLITS,
    OPENAI_FORMATS,
    PARQUET,
    QUARANTINE_NAME,
    SPLIT_NAMES,
    file_extension,
    formats_for,
)
from core.export.uniform import pyarrow_problem, uniform_content_jsonl
from core.export.write import WrittenFile, write_split, written_rows

__all__ = [
    "CARD_NAME",
    "EXPORT_FORMATS",
    "HF_SPLITS",
    "OPENAI_FORMATS",
    "PARQUET",
    "QUARANTINE_NAME",
    "SPLIT_NAMES",
    "Bundle",
    "BundleRequest",
    "WrittenFile",
    "build_bundle",
    "build_manifest",
    "card_builder",
    "check_file",
    "check_formats",
    "dataset_card_parts",
    "file_extension",
    "finetune_cost",
    "finetune_cost_dict",
    "formats_for",
    "hf_builder",
    "per_category",
    "pyarrow_problem",
    "quarantine_jsonl",
    "uniform_content_jsonl",
    "write_split",
    "written_rows",
]
