"""From a file to the workspace: bundled samples and storing what an upload produced."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.workspace import Workspace

if TYPE_CHECKING:
    from core.formats import LoadResult

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


@dataclass(frozen=True)
class Sample:
    """A dataset bundled with the app."""

    name: str
    filename: str
    description: str

    @property
    def path(self) -> Path:
        """Where the file lies."""
        return SAMPLE_DIR / self.filename


SAMPLES = (
    Sample(
        "Customer support (OpenAI SFT)",
        "support_sft.jsonl",
        "About 400 support conversations with planted problems: malformed lines, duplicates, two tiny "
        "categories, few hard or negative examples.",
    ),
)


def load_sample(sample: Sample, *, model: str | None = None) -> LoadResult:
    """Parse a bundled sample file."""
    from core.formats import load_dataset

    return load_dataset(sample.path, sample.filename, model=model)


def store_upload(ws: Workspace, result: LoadResult, *, note: str | None = None) -> int:
    """Save a parsed file as the workspace's new current dataset, quarantine and problems included.

    Returns:
        The new dataset version.
    """
    version = ws.save_dataset(
        result.records,
        note=note or f"upload {result.source_name}",
        name=result.source_name,
        source_format=result.detection.format,
        quarantine=result.quarantine,
        problems=result.problems_frame(),
    )
    ws.mark_step(
        "upload",
        {
            "file": result.source_name,
            "format": result.detection.format,
            "valid": result.valid,
            "invalid": result.invalid,
            "reason": result.detection.reason,  # why this format: shown on the Upload page
        },
    )
    return version
