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
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import core
from core import formats, pricing, tokens
from core.errors import DatasetError
from core.report import DataCardInputs, render_data_card
from core.workspace import now_iso

SPLIT_NAMES = ("train", "val", "test")
CARD_NAME = "README.md"
QUARANTINE_NAME = "quarantine.jsonl"
# Split names as Hugging Face calls them (the Hub viewer and trainers look for "validation").
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
PARQUET = "parquet"
EXPORT_FORMATS = (*formats.FORMAT_NAMES, PARQUET)
OPENAI_FORMATS = ("openai-sft", "openai-dpo", "openai-rft")
_JSON_ARRAY_FORMATS = ("alpaca", "sharegpt")
_PARQUET_ROWS_FORMAT = {"sft": "trl-messages", "preference": "trl-preference", "rft": "openai-rft"}
_ZIP_DATE = (2026, 1, 1, 0, 0, 0)
# TRL keys that hold a plain string (standard) or a message list (conversational), and the role of a string.
_TRL_STYLE_KEYS = {
    "prompt": "user",
    "completion": "assistant",
    "chosen": "assistant",
    "rejected": "assistant",
}
_MAX_LISTED_PROBLEMS = 5


def file_extension(fmt: str) -> str:
    """Return the file extension a format is written with (``jsonl``, ``json``, ``csv``, ``parquet``)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    if fmt in _JSON_ARRAY_FORMATS:
        return "json"
    return fmt if fmt in ("csv", PARQUET) else "jsonl"


def formats_for(kind: str) -> tuple[str, ...]:
    """Return the export formats that can hold examples of ``kind`` (Parquet holds any)."""
    return (*formats.formats_for_kind(kind), PARQUET)


# -- writing one file --------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenFile:
    """One file of the bundle, with what the check after writing found."""

    name: str
    data: bytes
    rows: int
    split: str | None = None
    format: str | None = None
    problems: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """Hex sha256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()


def write_split(frame: pd.DataFrame, fmt: str) -> tuple[bytes, list[str]]:
    """Write one split in ``fmt`` so that pyarrow can read it back.

    Args:
        frame: Canonical table of the split.
        fmt: An export format (:data:`EXPORT_FORMATS`).

    Returns:
        The bytes and the problems the writer reported (as readable lines).

    Raises:
        DatasetError: If the writer cannot put these examples in ``fmt``.
    """
    if fmt == PARQUET:
        return _write_parquet(frame)
    extension = file_extension(fmt)
    data, problems = formats.write_dataset(frame, fmt, container=None if extension == "csv" else extension)
    lines = _problem_lines(problems)
    if file_extension(fmt) == "jsonl":
        data = uniform_content_jsonl(data)
    return data, lines


def _write_parquet(frame: pd.DataFrame) -> tuple[bytes, list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = sorted({str(k) for k in frame["kind"]}) if len(frame) else ["sft"]
    if len(kinds) > 1:
        raise DatasetError(f"Parquet export needs one kind of example per file, got {kinds}")
    rows_format = _PARQUET_ROWS_FORMAT[kinds[0]]
    if rows_format == "trl-preference" and not all(
        _paired(c, r) for c, r in zip(frame["chosen"], frame["rejected"], strict=True)
    ):
        rows_format = "trl-kto"  # unpaired (KTO) examples: one row per completion, never an invented pair
    data, problems = formats.write_dataset(frame, rows_format)
    rows = _uniform_rows([json.loads(line) for line in data.splitlines() if line.strip()])
    notes = _problem_lines(problems)
    if len(_argument_shapes(rows)) > 1:
        rows = [_string_arguments(row) for row in rows]
        notes.append(_PARQUET_ARGUMENTS_NOTE)
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DatasetError(f"cannot write Parquet: the rows do not share one type per field ({exc})") from exc
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue(), notes


_PARQUET_ARGUMENTS_NOTE = (
    "warning: file: tool-call arguments written as JSON strings: their keys or types differ between "
    "rows, and a Parquet column holds one type (the JSONL files keep them as objects)"
)


def _tool_calls_in(value: Any) -> Iterable[dict]:
    if isinstance(value, dict):
        yield from (c for c in value.get("tool_calls") or [] if isinstance(c, dict))
        for child in value.values():
            yield from _tool_calls_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from _tool_calls_in(child)


def _argument_shapes(rows: list[Any]) -> set[tuple[tuple[str, str], ...]]:
    """The (key, type) sets of every object of tool-call arguments: one means one Parquet struct type."""
    shapes = set()
    for call in _tool_calls_in(rows):
        arguments = (call.get("function") or {}).get("arguments")
        if isinstance(arguments, dict):
            shapes.add(tuple(sorted((str(k), type(v).__name__) for k, v in arguments.items())))
    return shapes


def _string_arguments(value: Any) -> Any:
    """``value`` with every tool call's object arguments as a JSON string (OpenAI's form)."""
    return _map_dicts(value, _call_with_string_arguments)


def _call_with_string_arguments(out: dict) -> dict:
    function = out.get("function")
    if "id" in out and isinstance(function, dict) and isinstance(function.get("arguments"), dict):
        out["function"] = {**function, "arguments": json.dumps(function["arguments"], ensure_ascii=False)}
    return out


def _map_dicts(value: Any, fix: Callable[[dict], dict]) -> Any:
    """A copy of ``value`` with ``fix`` applied to every dict in it, innermost first."""
    if isinstance(value, list):
        return [_map_dicts(v, fix) for v in value]
    if not isinstance(value, dict):
        return value
    return fix({k: _map_dicts(v, fix) for k, v in value.items()})


def _paired(chosen: Any, rejected: Any) -> bool:
    return all(
        side is not None and not (isinstance(side, float) and side != side) and len(side)
        for side in (chosen, rejected)
    )


def _problem_lines(problems: Any) -> list[str]:
    """Return one line per distinct problem, with how many rows had it and the first lines."""
    if problems is None:
        return []
    items = problems.to_dict("records") if isinstance(problems, pd.DataFrame) else list(problems)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for problem in items:
        get = _getter(problem)
        key = (str(get("severity", "error")), str(get("field", "") or ""), str(get("message", problem)))
        groups.setdefault(key, []).append(get("line"))
    return [_problem_text(key, lines) for key, lines in groups.items()]


def _getter(problem: Any) -> Any:
    if isinstance(problem, Mapping):
        return problem.get
    return lambda key, default=None: getattr(problem, key, default)


def _problem_text(key: tuple[str, str, str], lines: list[Any]) -> str:
    severity, field_name, message = key
    numbers = [int(n) for n in lines if n is not None and not pd.isna(n)]
    where = "file" if not numbers else f"line {numbers[0]}"
    if len(numbers) > 1:
        where = (
            f"{len(numbers)} rows, lines "
            + ", ".join(str(n) for n in numbers[:3])
            + (", …" if len(numbers) > 3 else "")
        )
    return f"{severity}: {where}: {field_name + ': ' if field_name else ''}{message}"


# -- one type per key for pyarrow ----------------------------------------------------------------


def uniform_content_jsonl(data: bytes) -> bytes:
    """Return JSONL bytes whose values share one type per key (see module docstring)."""
    rows = [json.loads(line) for line in data.splitlines() if line.strip()]
    fixed = _uniform_rows(rows)
    if fixed is rows:
        return data
    return b"".join(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in fixed)


def _uniform_rows(rows: list[Any]) -> list[Any]:
    """Return ``rows`` itself when nothing needs changing, else fixed copies."""
    mixed_style = [key for key in _TRL_STYLE_KEYS if _mixed_style(rows, key)]
    out = [_conversational(row, mixed_style) for row in rows] if mixed_style else rows
    return [_parts_everywhere(row) for row in out] if _mixed_content(out) else out


def _mixed_style(rows: list[Any], key: str) -> bool:
    types = {type(row.get(key)) for row in rows if isinstance(row, dict) and row.get(key) is not None}
    return str in types and list in types


def _conversational(row: Any, keys: list[str]) -> Any:
    if not isinstance(row, dict):
        return row
    out = dict(row)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = [{"role": _TRL_STYLE_KEYS[key], "content": out[key]}]
    return out


def _messages_in(value: Any) -> Iterable[dict]:
    if isinstance(value, dict):
        if "role" in value and "content" in value:
            yield value
        for child in value.values():
            yield from _messages_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from _messages_in(child)


def _mixed_content(rows: list[Any]) -> bool:
    types = {type(m["content"]) for m in _messages_in(rows) if m["content"] is not None}
    return str in types and list in types


def _parts_everywhere(value: Any) -> Any:
    return _map_dicts(value, _message_with_parts)


def _message_with_parts(out: dict) -> dict:
    if "role" in out and isinstance(out.get("content"), str):
        out["content"] = [{"type": "text", "text": out["content"]}]
    return out


def pyarrow_problem(data: bytes) -> str | None:
    """Return why pyarrow's JSON reader cannot load JSONL ``data``, or ``None`` when it can."""
    if not data.strip():
        return None
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        pj.read_json(io.BytesIO(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        return str(exc).splitlines()[0]
    return None


# -- checking a written file ---------------------------------------------------------------------


def check_file(name: str, data: bytes, fmt: str, rows: int) -> tuple[list[str], list[str]]:
    """Read a written file back; return (problems to report, problems that block the bundle).

    OpenAI and TRL formats are validated again with the importer: an error on a row, or a row
    count that differs from what was written, blocks; file-level findings (fewer than 10 examples in
    a small val / test file) are reported. JSONL files must load with pyarrow.
    """
    reported: list[str] = []
    blocking: list[str] = []
    if file_extension(fmt) == "jsonl":
        problem = pyarrow_problem(data)
        if problem and "/function/arguments" in problem and "changed from" in problem:
            # datasets (4.8+) reads tool-call arguments of several shapes as one Json column
            reported.append(
                f"{name}: tool-call arguments differ in type between rows ({problem}): {_JSON_NOTE}"
            )
        elif problem:
            blocking.append(f"{name}: pyarrow's JSON reader cannot load it: {problem}")
    if (fmt in OPENAI_FORMATS or fmt.startswith("trl-")) and rows:
        loaded = formats.load_dataset(data, name, format=fmt)
        row_errors = [p for p in loaded.problems if _getter(p)("severity") == "error" and _getter(p)("line")]
        others = [p for p in loaded.problems if not any(p is q for q in row_errors)]
        blocking.extend(f"{name}: {line}" for line in _problem_lines(row_errors))
        reported.extend(f"{name}: {line}" for line in _problem_lines(others))
        if len(loaded.records) != rows:
            blocking.append(f"{name}: {rows} rows written but {len(loaded.records)} read back as {fmt}")
    return reported, blocking


_JSON_NOTE = "datasets 4.8 or later reads them as a Json column, an older datasets cannot load the file"


def _written(frame: pd.DataFrame, split: str, fmt: str) -> WrittenFile:
    name = f"{fmt}/{split}.{file_extension(fmt)}"
    data, problems = write_split(frame, fmt)
    rows = written_rows(data, fmt)
    reported, blocking = check_file(name, data, fmt, rows)
    writer_errors = [f"{name}: {p}" for p in problems if p.startswith("error")]
    writer_notes = [f"{name}: {p}" for p in problems if not p.startswith("error")]
    return WrittenFile(
        name, data, rows, split, fmt, tuple(writer_notes + reported), tuple(writer_errors + blocking)
    )


def written_rows(data: bytes, fmt: str) -> int:
    """Return how many rows a written file holds (rows left out are not; a KTO pair is two)."""
    extension = file_extension(fmt)
    if not data.strip():
        return 0
    if extension == PARQUET:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)
    return formats.rows_in(data, fmt)


# -- the bundle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleRequest:
    """What goes in the bundle besides the splits.

    Attributes:
        formats: Target formats (each split is written in each).
        seed: Seed of the split.
        fractions: ``{"train", "val", "test"}`` fractions.
        dataset_version: Workspace version the splits came from.
        card: Data card inputs (counts are filled in from the splits).
        quarantine: Invalid input rows with their reasons.
        review_audit: Review decisions, written as review_audit.csv.
        lock: The test lock manifest (ids, hashes, date).
        excluded: Rows the split kept out of every file (id -> reason), written as excluded.jsonl.
        strict: Validation errors block the bundle (else they are only reported).
    """

    formats: tuple[str, ...]
    seed: int
    fractions: Mapping[str, float] = field(default_factory=dict)
    dataset_version: int | None = None
    card: DataCardInputs | None = None
    quarantine: pd.DataFrame | None = None
    review_audit: pd.DataFrame | None = None
    lock: Mapping[str, Any] | None = None
    excluded: Mapping[str, str] | None = None
    strict: bool = True

    def __post_init__(self) -> None:
        if not self.formats:
            raise ValueError("formats must name at least one export format, got none")
        unknown = [f for f in self.formats if f not in EXPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown export formats {unknown}; expected among {EXPORT_FORMATS}")


@dataclass(frozen=True)
class Bundle:
    """The zip and what it holds."""

    data: bytes
    manifest: dict[str, Any]
    problems: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """Hex sha256 of the zip."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_names(self) -> list[str]:
        """Every file in the zip, manifest.json included (the manifest cannot list itself)."""
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            return archive.namelist()


def build_bundle(splits: Mapping[str, pd.DataFrame], request: BundleRequest) -> Bundle:
    """Write every split in every format, check each file, and zip them with the manifest and card.

    Args:
        splits: ``{"train", "val", "test"}`` canonical tables.
        request: Formats, seed, fractions and the extra inputs.

    Returns:
        The zip bytes, the manifest (also inside the zip) and the problems reported.

    Raises:
        DatasetError: If a file cannot be written, or (``strict``) fails its check.
    """
    check_formats(splits, request.formats)
    written = [_written(splits[s], s, fmt) for fmt in request.formats for s in SPLIT_NAMES if s in splits]
    blocking = [p for f in written for p in f.blocking]
    if blocking and request.strict:
        shown = "; ".join(blocking[:_MAX_LISTED_PROBLEMS])
        raise DatasetError(f"the export did not pass its checks ({len(blocking)} problems): {shown}")
    written.extend(_side_files(request))
    created_at = now_iso()
    front, loading = dataset_card_parts(written, request)
    card = front + _card_text(splits, request, created_at) + "\n" + loading
    written.append(WrittenFile(CARD_NAME, card.encode("utf-8"), 0))
    manifest = build_manifest(splits, request, written, created_at)
    manifest_file = WrittenFile("manifest.json", _json_bytes(manifest), 0)
    problems = tuple(p for f in written for p in (*f.problems, *f.blocking))
    return Bundle(_zip([*written, manifest_file]), manifest, problems)


def check_formats(splits: Mapping[str, pd.DataFrame], wanted: Sequence[str]) -> None:
    """Raise DatasetError if a wanted format cannot hold the kinds of example in the splits."""
    kinds = sorted({str(k) for frame in splits.values() if "kind" in frame.columns for k in frame["kind"]})
    for kind in kinds:
        bad = [f for f in wanted if f not in formats_for(kind)]
        if bad:
            allowed = ", ".join(formats_for(kind))
            raise DatasetError(f"{', '.join(bad)} cannot hold {kind} examples; formats for {kind}: {allowed}")


def _side_files(request: BundleRequest) -> list[WrittenFile]:
    files = [WrittenFile(QUARANTINE_NAME, quarantine_jsonl(request.quarantine), _rows(request.quarantine))]
    if request.review_audit is not None:
        audit = request.review_audit.to_csv(index=False).encode("utf-8")
        files.append(WrittenFile("review_audit.csv", audit, len(request.review_audit)))
    if request.excluded:
        lines = b"".join(_json_line({"id": i, "reason": r}) for i, r in request.excluded.items())
        files.append(WrittenFile("excluded.jsonl", lines, len(request.excluded)))
    if request.lock:
        files.append(
            WrittenFile("test_lock.json", _json_bytes(dict(request.lock)), len(request.lock.get("ids", [])))
        )
    return files


def _rows(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def quarantine_jsonl(frame: pd.DataFrame | None) -> bytes:
    """Return the quarantined rows (with their reasons) as JSONL; empty bytes when there are none."""
    if frame is None or frame.empty:
        return b""
    records = frame.to_dict("records")
    return b"".join(_json_line(r) for r in records)


def _json_line(record: Mapping[str, Any]) -> bytes:
    clean = {str(k): _plain(v) for k, v in record.items()}
    return json.dumps(clean, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return None if value is pd.NA or value is pd.NaT else value


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _zip(files: Sequence[WrittenFile]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            info = zipfile.ZipInfo(f.name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, f.data)
    return buffer.getvalue()


def build_manifest(
    splits: Mapping[str, pd.DataFrame], request: BundleRequest, files: Sequence[WrittenFile], created_at: str
) -> dict[str, Any]:
    """Return manifest.json: counts, sha256 of every file, seed, fractions, versions, the lock."""
    lock = dict(request.lock) if request.lock else None
    return {
        "app": "Trainset Studio",
        "app_version": core.__version__,
        "created_at": created_at,
        "dataset_version": request.dataset_version,
        "seed": request.seed,
        "fractions": dict(request.fractions),
        "formats": list(request.formats),
        "counts": {name: len(frame) for name, frame in splits.items() if name in SPLIT_NAMES},
        "excluded": len(request.excluded or {}),
        "quarantined": _quarantined(request.quarantine),
        "files": {
            f.name: {
                "sha256": f.sha256,
                "bytes": len(f.data),
                "rows": f.rows,
                "split": f.split,
                "format": f.format,
            }
            for f in files
        },
        "test_lock": lock,
        "problems": [p for f in files for p in (*f.problems, *f.blocking)],
    }


def _quarantined(frame: pd.DataFrame | None) -> dict[str, Any]:
    """How many input rows no file holds, why, and where they are (quarantine.jsonl)."""
    if frame is None or frame.empty:
        return {"rows": 0, "codes": {}, "lines": []}
    return formats.quarantine_summary(frame, QUARANTINE_NAME)


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
    labels = [default if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
    return dict(pd.Series(labels).value_counts().sort_index().items())


# -- fine-tuning cost ------------------------------------------------------------------------------


def finetune_cost(train: pd.DataFrame, model: str, *, epochs: int | None = None) -> pricing.FinetuneEstimate:
    """Estimate what training ``model`` on ``train`` costs: tokens x epochs (cookbook heuristic) x price.

    Args:
        train: The train split (canonical table).
        model: Target model id (``gpt-4.1-mini-2025-04-14``, ...).
        epochs: Epochs to assume (default: the cookbook's heuristic for the split's size).

    Returns:
        The estimate (``usd`` is ``None`` when the model has no per-token training price).

    Raises:
        ValueError: If the model is unknown to the tokenizer or the price table.
    """
    counts = tokens.count_frame(train, model=model)["total_tokens"].tolist() if len(train) else []
    return pricing.finetune_estimate(counts, model, epochs=epochs)


def finetune_cost_dict(estimate: pricing.FinetuneEstimate) -> dict[str, Any]:
    """Return an estimate as a JSON-ready dict."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(estimate).items()}
