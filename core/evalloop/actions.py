"""Failures become actions: the annotation queue, gap targets, eval-derived records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from core import records
from core.evalloop.metrics import _LABEL_MAX_WORDS, SLICE_DIMENSIONS, EvalReport, Slice
from core.evalloop.read import STANDARD_COLUMNS
from core.evalloop.store import _SCHEMA
from core.workspace import Workspace, now_iso

TARGETS_KEY = "targets.eval"


QUEUE_LABEL_COLUMN = "annotator_eval_review"


GOLD_COLUMN = "label_eval_gold"


def select_failures(
    frame: pd.DataFrame, *, slices: Sequence[str] = (), ids: Sequence[str] = ()
) -> pd.DataFrame:
    """Failing rows, limited to the given slices (``"category=warranty"``) and/or ids when given.

    Raises:
        ValueError: If a slice name is not ``dimension=value`` with a known dimension.
    """
    failing = frame[~frame["correct"].astype(bool)]
    if not slices and not ids:
        return failing.copy()
    mask = failing["id"].isin(list(ids))
    for name in slices:
        dimension, value = _parse_slice(name)
        mask |= failing[_SLICE_COLUMN[dimension]].astype(str) == value
    return failing[mask].copy()


_SLICE_COLUMN = {"category": "slice_category", "length": "length_bucket", "language": "language"}


def _parse_slice(name: str) -> tuple[str, str]:
    dimension, sep, value = name.partition("=")
    if not sep or dimension not in SLICE_DIMENSIONS:
        raise ValueError(
            f"slice must be 'dimension=value' with dimension in {SLICE_DIMENSIONS}, got {name!r}"
        )
    return dimension, value


def annotation_queue(rows: pd.DataFrame, *, label_column: str = QUEUE_LABEL_COLUMN) -> pd.DataFrame:
    """The annotation queue for failing rows, with an empty column for the corrected label.

    ``id`` is the id the row gets as a canonical example (:func:`eval_rows_to_records`), so once the
    rows are added to the dataset the labels page joins the filled-in file by ``id``: it reads
    ``label_eval_gold`` (the eval's expected answer) and ``label_column`` as two annotators.

    Raises:
        ValueError: If ``label_column`` is empty or clashes with another column of the queue.
    """
    if not label_column or label_column in (*STANDARD_COLUMNS, *_QUEUE_COLUMNS):
        raise ValueError(f"label_column must be a new, non-empty column name, got {label_column!r}")
    queue = pd.DataFrame(
        {
            "id": [record_id(r) for r in rows.to_dict("records")],
            "eval_id": rows["id"].astype(str).to_numpy(),
            "input": rows["input"].to_numpy(),
            GOLD_COLUMN: rows["expected"].to_numpy(),
            "model_predicted": rows["predicted"].to_numpy(),
            "category": rows["category"].to_numpy(),
            "reason": [_reason(e, p) for e, p in zip(rows["expected"], rows["predicted"], strict=True)],
        }
    )
    queue[label_column] = ""
    return queue


_QUEUE_COLUMNS = ("eval_id", "model_predicted", "reason")


def _reason(expected: Any, predicted: Any) -> str:
    return f"expected {expected!s} but the model said {predicted!s}"


def record_id(row: Mapping[str, Any]) -> str:
    """The canonical id an eval row gets as a training example (user input -> expected answer)."""
    return records.content_id("sft", _eval_messages(row.get("input"), row.get("expected")))


def _eval_messages(text: Any, answer: Any) -> list[dict[str, str]]:
    return [{"role": "user", "content": str(text)}, {"role": "assistant", "content": str(answer)}]


def queue_csv(queue: pd.DataFrame) -> bytes:
    """CSV bytes of the annotation queue (UTF-8 with a BOM so spreadsheets open it correctly)."""
    return queue.to_csv(index=False).encode("utf-8-sig")


def save_queue(ws: Workspace, queue: pd.DataFrame, *, round_number: int | None) -> int:
    """Store the queued rows in ``evalloop_queue`` (re-queuing a row replaces it); return how many."""
    ws.ensure_schema(_SCHEMA)
    stamp = now_iso()
    rows = [
        (
            round_number if round_number is not None else 0,
            str(r["eval_id"]),
            *_texts(r),
            r.get("reason"),
            stamp,
        )
        for r in queue.to_dict("records")
    ]
    with ws.connect() as connection:
        connection.executemany("INSERT OR REPLACE INTO evalloop_queue VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _texts(row: Mapping[str, Any]) -> tuple[str | None, ...]:
    keys = ("input", GOLD_COLUMN, "model_predicted", "category")
    return tuple(None if row.get(k) is None else str(row.get(k)) for k in keys)


def load_queue(ws: Workspace) -> pd.DataFrame:
    """Every row sent to the annotation queue, newest first."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM evalloop_queue ORDER BY created_at DESC, round, id"
        ).fetchall()
    columns = ["round", "id", "input", "expected", "predicted", "category", "reason", "created_at"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def make_targets(
    report: EvalReport,
    slices: Sequence[str],
    *,
    per_failure: int = 3,
    max_examples: int = 5,
    round_number: int | None = None,
) -> list[dict[str, Any]]:
    """Generation targets (the shared ``targets.*`` format, kind ``eval_slice``) for failing slices.

    Args:
        report: The eval report the slices come from.
        slices: Slice names (``"category=warranty"``).
        per_failure: Examples to generate per failing eval row (``missing = failures * per_failure``).
        max_examples: How many failing inputs to give as examples.
        round_number: The eval round, for the description.

    Raises:
        ValueError: If ``per_failure`` < 1, ``max_examples`` < 0, or a slice is unknown.
    """
    if per_failure < 1 or max_examples < 0:
        raise ValueError(f"per_failure must be >= 1 and max_examples >= 0, got {per_failure}, {max_examples}")
    known = {s.label: s for s in report.slices}
    targets = []
    for name in slices:
        if name not in known:
            raise ValueError(f"unknown slice {name!r}; known: {sorted(known)[:10]}...")
        item = known[name]
        failing = select_failures(report.frame, slices=[name])
        targets.append(
            {
                "kind": "eval_slice",
                "value": name,
                "missing": max(1, item.failures) * per_failure,
                "description": _target_description(item, failing, round_number),
                "examples": [str(t) for t in failing["input"].dropna().head(max_examples)],
            }
        )
    return targets


def _target_description(item: Slice, failing: pd.DataFrame, round_number: int | None) -> str:
    where = f"Eval round {round_number}" if round_number is not None else "Eval"
    text = (
        f"{where}: {item.dimension} '{item.value}' scores {item.metric} {item.score:.0%} "
        f"({item.failures} of {item.n} failing)."
    )
    confused = failing["predicted"].dropna().astype(str).value_counts()
    if len(confused) and failing["expected"].notna().any():
        text += f" Most often answered '{confused.index[0]}' instead ({int(confused.iloc[0])}x)."
    return text + " Add examples like these, with the right answer."


def save_targets(
    ws: Workspace, targets: Sequence[Mapping[str, Any]], *, replace: bool = False
) -> list[dict[str, Any]]:
    """Write ``targets.eval`` (merged by kind and value with what is there unless ``replace``).

    Returns:
        The list now stored.
    """
    current = [] if replace else list(ws.get_state(TARGETS_KEY, []) or [])
    merged = {(t["kind"], t["value"]): dict(t) for t in current}
    for target in targets:
        merged[(target["kind"], target["value"])] = dict(target)
    stored = list(merged.values())
    ws.set_state(TARGETS_KEY, stored)
    return stored


def eval_rows_to_records(rows: pd.DataFrame, *, label_column: str | None = None) -> pd.DataFrame:
    """Turn eval rows into canonical examples (user input -> expected answer) with ``source = "eval"``.

    Args:
        rows: Eval rows (standard columns); rows without an input or an answer are skipped.
        label_column: A column with corrected answers (from the annotation queue) that wins over
            ``expected`` where filled.

    Returns:
        A canonical table (:func:`core.records.make_frame`).
    """
    out = []
    for row in rows.to_dict("records"):
        answer = row.get(label_column) if label_column else None
        answer = answer if isinstance(answer, str) and answer.strip() else row.get("expected")
        if row.get("input") is None or answer is None:
            continue
        category = row.get("category") or (answer if len(str(answer).split()) <= _LABEL_MAX_WORDS else None)
        extra = {"source": "eval", "category": category, "eval_id": str(row["id"])}
        messages = _eval_messages(row["input"], answer)
        out.append(records.make_record("sft", messages, extra=extra, source_format="eval"))
    return records.make_frame(out)


def add_to_dataset(ws: Workspace, examples: pd.DataFrame, *, note: str = "eval-derived examples") -> int:
    """Append eval-derived canonical rows to the current dataset as a new version; return it.

    Rows already in the dataset (same content id) are not added again, so a second click adds nothing.
    """
    current = ws.current_dataset()
    new = examples.drop_duplicates("id")
    if current is not None:
        new = new[~new["id"].isin(set(current["id"]))]
    frame = new if current is None else pd.concat([current, new], ignore_index=True)
    skipped = len(examples) - len(new)
    already = f", {skipped} already there" if skipped else ""
    return ws.save_dataset(frame, note=f"{note} (+{len(new)}{already}, source=eval)")
