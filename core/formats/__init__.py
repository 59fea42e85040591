"""Fine-tuning dataset formats: detect, validate, parse into the canonical table, write back.

Public API (used by the Upload page and the command line):

- :func:`load_dataset` reads a file (see :mod:`core.io`), detects or takes its format, checks
  every row against the rules of FORMATS.md and returns a :class:`LoadResult`: the canonical
  table of valid rows, the quarantine of rejected rows (never dropped) and every problem.
- :func:`detect_format` guesses the format from the keys of the first rows.
- :func:`write_dataset` writes a canonical table in any format of the same kind and says,
  per row, what could not be carried over.

The package along its seams: :mod:`~core.formats.catalog` (the formats and their kinds),
:mod:`~core.formats.detect`, :mod:`~core.formats.load` (with :mod:`~core.formats.read`, one pass
over the rows, and :mod:`~core.formats.checks`, the whole-file checks),
:mod:`~core.formats.result` and :mod:`~core.formats.write`; one module per format beside them.
Every name is importable from ``core.formats`` as before.

Line numbers in :class:`Problem` are 1-based physical lines for JSONL files and 1-based data
rows for JSON arrays, CSV (the header is not counted) and Parquet; ``None`` means the whole file.
"""

from __future__ import annotations

from core.errors import FormatError
from core.formats import batch
from core.formats._base import ColumnMap, Detection, Problem
from core.formats._trl import TRL_STYLES
from core.formats.catalog import (
    _STYLED_FORMATS,
    FORMAT_NAMES,
    MAX_RFT_EXAMPLES,
    MIN_EXAMPLES,
    OPENAI_FORMATS,
    SAMPLE_ROWS,
    format_kinds,
    formats_for_kind,
)
from core.formats.codes import PROBLEM_CODES, PROBLEM_FIXES
from core.formats.csv_table import suggest_column_map
from core.formats.detect import classify_row, detect_format
from core.formats.load import iter_record_batches, load_dataset, records_of
from core.formats.read import _Run
from core.formats.result import (
    LoadResult,
    RecordBatches,
    collapse_repeated,
    describe_quarantine,
    quarantine_summary,
)
from core.formats.write import rows_in, rows_out, write_dataset, writes_row_by_row

__all__ = [
    "FORMAT_NAMES",
    "MAX_RFT_EXAMPLES",
    "MIN_EXAMPLES",
    "OPENAI_FORMATS",
    "PROBLEM_CODES",
    "PROBLEM_FIXES",
    "SAMPLE_ROWS",
    "TRL_STYLES",
    "_STYLED_FORMATS",
    "ColumnMap",
    "Detection",
    "FormatError",
    "LoadResult",
    "Problem",
    "RecordBatches",
    "_Run",
    "batch",
    "classify_row",
    "collapse_repeated",
    "describe_quarantine",
    "detect_format",
    "format_kinds",
    "formats_for_kind",
    "iter_record_batches",
    "load_dataset",
    "quarantine_summary",
    "records_of",
    "rows_in",
    "rows_out",
    "suggest_column_map",
    "write_dataset",
    "writes_row_by_row",
]
