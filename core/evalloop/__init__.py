"""Eval loop: eval results -> metrics and failing slices -> the next round of data.

An eval results file (CSV / TSV, JSON Lines, a JSON array or Parquet, gzipped or not; read through
:mod:`core.io`, as on Upload) has one row per eval example: an id or
the input, the expected output or label, the model's output or label, optionally a category
and a grader score. Columns are found by their usual names (see :data:`COLUMN_SYNONYMS`) or
given with a :class:`ColumnMap`.

- :func:`read_results` reads a file into the standard eval table (:data:`STANDARD_COLUMNS`).
- :func:`build_report` computes the metrics: for labels accuracy, macro F1, per-category
  precision / recall / F1 / support (scikit-learn) and the confusion matrix; for free text
  the normalised exact match and the grader score; and the worst slices by category, input
  length bucket and language.
- :func:`compare_results` compares two result files (fine-tuned against a well-prompted base
  model, or round N against N-1) per slice: helped / hurt / no change.
- Failures become actions: :func:`annotation_queue` (CSV for labelling; the corrected labels
  come back through the labels page as an annotator column), :func:`make_targets` /
  :func:`save_targets` (``targets.eval`` for gap-targeted generation) and
  :func:`eval_rows_to_records` (canonical rows with ``source = "eval"``, train only).
- Rounds: :func:`save_round` stores each eval in the workspace; :func:`round_history` gives the
  metrics per round and per slice over time (the page draws them with ``ui_figures``).
"""

from __future__ import annotations

from core.evalloop.actions import (
    _QUEUE_COLUMNS as _QUEUE_COLUMNS,
)
from core.evalloop.actions import (
    _SLICE_COLUMN as _SLICE_COLUMN,
)
from core.evalloop.actions import (
    GOLD_COLUMN as GOLD_COLUMN,
)
from core.evalloop.actions import (
    QUEUE_LABEL_COLUMN as QUEUE_LABEL_COLUMN,
)
from core.evalloop.actions import (
    TARGETS_KEY as TARGETS_KEY,
)
from core.evalloop.actions import (
    _eval_messages as _eval_messages,
)
from core.evalloop.actions import (
    _parse_slice as _parse_slice,
)
from core.evalloop.actions import (
    _reason as _reason,
)
from core.evalloop.actions import (
    _target_description as _target_description,
)
from core.evalloop.actions import (
    _texts as _texts,
)
from core.evalloop.actions import (
    add_to_dataset as add_to_dataset,
)
from core.evalloop.actions import (
    annotation_queue as annotation_queue,
)
from core.evalloop.actions import (
    eval_rows_to_records as eval_rows_to_records,
)
from core.evalloop.actions import (
    load_queue as load_queue,
)
from core.evalloop.actions import (
    make_targets as make_targets,
)
from core.evalloop.actions import (
    queue_csv as queue_csv,
)
from core.evalloop.actions import (
    record_id as record_id,
)
from core.evalloop.actions import (
    save_queue as save_queue,
)
from core.evalloop.actions import (
    save_targets as save_targets,
)
from core.evalloop.actions import (
    select_failures as select_failures,
)
from core.evalloop.compare import (
    PREMATURE_NOTE as PREMATURE_NOTE,
)
from core.evalloop.compare import (
    Comparison as Comparison,
)
from core.evalloop.compare import (
    SliceComparison as SliceComparison,
)
from core.evalloop.compare import (
    _compare_group as _compare_group,
)
from core.evalloop.compare import (
    _comparison_json as _comparison_json,
)
from core.evalloop.compare import (
    _mcnemar as _mcnemar,
)
from core.evalloop.compare import (
    compare_results as compare_results,
)
from core.evalloop.metrics import (
    _LABEL_MAX_CLASSES as _LABEL_MAX_CLASSES,
)
from core.evalloop.metrics import (
    _LABEL_MAX_WORDS as _LABEL_MAX_WORDS,
)
from core.evalloop.metrics import (
    LENGTH_BUCKETS as LENGTH_BUCKETS,
)
from core.evalloop.metrics import (
    LONG_BUCKET as LONG_BUCKET,
)
from core.evalloop.metrics import (
    SLICE_DIMENSIONS as SLICE_DIMENSIONS,
)
from core.evalloop.metrics import (
    TASKS as TASKS,
)
from core.evalloop.metrics import (
    EvalReport as EvalReport,
)
from core.evalloop.metrics import (
    Slice as Slice,
)
from core.evalloop.metrics import (
    _correct as _correct,
)
from core.evalloop.metrics import (
    _label_arrays as _label_arrays,
)
from core.evalloop.metrics import (
    _label_metrics as _label_metrics,
)
from core.evalloop.metrics import (
    _overall as _overall,
)
from core.evalloop.metrics import (
    add_derived as add_derived,
)
from core.evalloop.metrics import (
    build_report as build_report,
)
from core.evalloop.metrics import (
    compute_slices as compute_slices,
)
from core.evalloop.metrics import (
    detect_task as detect_task,
)
from core.evalloop.metrics import (
    length_bucket as length_bucket,
)
from core.evalloop.metrics import (
    main_metric as main_metric,
)
from core.evalloop.metrics import (
    normalize_text as normalize_text,
)
from core.evalloop.metrics import (
    slice_title as slice_title,
)
from core.evalloop.read import (
    COLUMN_SYNONYMS as COLUMN_SYNONYMS,
)
from core.evalloop.read import (
    ROLES as ROLES,
)
from core.evalloop.read import (
    STANDARD_COLUMNS as STANDARD_COLUMNS,
)
from core.evalloop.read import (
    ColumnMap as ColumnMap,
)
from core.evalloop.read import (
    _cell_text as _cell_text,
)
from core.evalloop.read import (
    _first_free as _first_free,
)
from core.evalloop.read import (
    _ids as _ids,
)
from core.evalloop.read import (
    _norm_name as _norm_name,
)
from core.evalloop.read import (
    _scores as _scores,
)
from core.evalloop.read import (
    guess_columns as guess_columns,
)
from core.evalloop.read import (
    mapping_from_guess as mapping_from_guess,
)
from core.evalloop.read import (
    read_results as read_results,
)
from core.evalloop.read import (
    read_table as read_table,
)
from core.evalloop.read import (
    standardize as standardize,
)
from core.evalloop.store import (
    _SCHEMA as _SCHEMA,
)
from core.evalloop.store import (
    _numeric as _numeric,
)
from core.evalloop.store import (
    list_rounds as list_rounds,
)
from core.evalloop.store import (
    load_round as load_round,
)
from core.evalloop.store import (
    round_history as round_history,
)
from core.evalloop.store import (
    save_round as save_round,
)
