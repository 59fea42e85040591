"""Parquet: rows streamed batch by batch."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from core.errors import FormatError
from core.io.decoding import _binary_stream
from core.io.rows import Row, RowSource


def _read_parquet(opener: Callable[[], IO[bytes]], name: str, compressed: bool, head: bytes) -> RowSource:
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = io.BytesIO(_binary_stream(opener, compressed).read()) if compressed else opener()
    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"{name}: not a readable Parquet file ({exc})") from exc
    columns = list(parquet.schema_arrow.names)
    return RowSource(name, "parquet", compressed, _parquet_rows(parquet, handle), [], columns=columns)


def _parquet_rows(parquet: Any, handle: IO[bytes]) -> Iterator[Row]:
    number = 0
    with handle:
        for batch in parquet.iter_batches(batch_size=8192):
            for value in batch.to_pylist():
                number += 1
                yield Row(number, value, None)
