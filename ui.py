"""Small helpers shared by the Streamlit pages (the only UI module outside pages/)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import derived
from core.errors import DatasetError
from core.project import Project
from core.workspace import Workspace, default_root

# What lets data act in Markdown: links and images ([]()!), autolinks and HTML (<>, "https:"), code,
# emphasis, LaTeX ($), Streamlit directives and icons (:red[...], :material/x:), headings. Plain
# punctuation (".", "-", "_") stays as it is: at worst it formats, it never links or loads anything.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]()!<>$:~#])")


def _leave_legacy_multipage_mode() -> None:
    """Make app.py's st.navigation govern every page, even when a page URL is the first one opened.

    Because a pages/ folder exists, Streamlit starts each server in its legacy multipage mode and
    runs a directly opened page on its own (legacy sidebar, no app.py) until some run has called
    st.navigation. Leaving that mode and rerunning hands the run to app.py at once.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without this internal
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_multipage_mode()

_ROLE_AVATARS = {"system": "⚙️", "developer": "⚙️", "user": "user", "assistant": "assistant", "tool": "🔧"}


def open_workspace() -> Workspace:
    """Return the workspace of this session (``session_state['workspace_root']`` or the default).

    Also starts measuring a newly saved dataset version in the background (once per version and
    server), so that the Distribution and Split pages find their numbers ready.
    """
    if "workspace_root" not in st.session_state:  # a new session: the dataset in the address, or the last one
        project = Project(default_root())
        asked = st.query_params.get("dataset")
        slug = asked if asked in {e.slug for e in project.datasets()} else project.current()
        st.session_state["workspace_root"] = str(project.workspace_root(slug))
    root = st.session_state["workspace_root"]
    ws = Workspace.open(root)
    _dataset_switcher(Project.of(root), root)
    derived.warm_in_background(ws, ws.dataset_version())
    return ws


def switch_dataset(project: Project, slug: str) -> None:
    """Make ``slug`` the dataset of this session, of the page address, and of the next start."""
    st.session_state["workspace_root"] = str(project.workspace_root(slug))
    project.set_current(slug)
    st.query_params["dataset"] = slug


def _dataset_switcher(project: Project, root: str) -> None:
    entries = project.datasets()
    if len(entries) < 2:
        return
    slugs = [e.slug for e in entries]
    current = project.slug_of(root)
    labels = {e.slug: f"{e.name} · {e.rows:,} rows" for e in entries}
    key = f"dataset_switch_{current}"  # one widget per dataset in hand: its default is always that one
    st.sidebar.selectbox(
        "Dataset",
        slugs,
        index=slugs.index(current) if current in slugs else 0,
        format_func=labels.get,
        key=key,
        on_change=lambda: switch_dataset(project, st.session_state[key]),
        help="Each dataset has its own versions, test lock, reviews and journey.",
    )


# A resource cache, not a data cache: st.cache_data would unpickle a fresh copy of a 100k-row frame on
# every rerun (seconds), while a saved version never changes. The frame is shared: pages must not mutate
# it (copy first, as core functions do).
@st.cache_resource(max_entries=2, show_spinner="Loading the dataset…")
def _load_version(root: str, version: int) -> pd.DataFrame:
    return Workspace.open(root).load_version(version)


def current_dataset(ws: Workspace) -> pd.DataFrame | None:
    """Return the current dataset (shared per version: never mutate it), or ``None`` before an upload."""
    version = ws.dataset_version()
    return None if version is None else _load_version(str(ws.root), version)


def dataset_at(ws: Workspace, version: int | None) -> pd.DataFrame | None:
    """Return the dataset as saved in ``version`` (shared, never mutate it); the current one for ``None``."""
    return current_dataset(ws) if version is None else _load_version(str(ws.root), version)


def require_dataset(ws: Workspace) -> pd.DataFrame:
    """Return the current dataset or show what is missing and stop the page."""
    frame = current_dataset(ws)
    if frame is None:
        st.info("No dataset yet: upload a file or open a bundled sample on the Upload page first.")
        page_link("pages/1_Upload.py", label="Go to Upload", icon="⬆️")
        st.stop()
    return frame


# Features depend on the model only through its tokenizer, so they are cached per encoding; and in a
# resource cache, because unpickling a fresh copy of 100,000 rows on every rerun costs seconds. The
# frame is shared: nothing may mutate it (drill-downs take copies). The slow measurements are kept
# with the dataset version (core.derived), usually measured in the background right after the upload.
@st.cache_resource(
    max_entries=4,
    show_spinner="Measuring every example (tokens, languages, negatives): once per dataset version…",
)
def _features_for_encoding(
    root: str, dataset_version: int, encoding: str, _model: str, _frame: pd.DataFrame
) -> pd.DataFrame:
    from core import profile

    return derived.features(
        Workspace.open(root), dataset_version, profile.ProfileConfig(model=_model), _frame
    )


def version_features(ws: Workspace, frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """Return :func:`core.profile.compute_features` of the current version (shared: never mutate it)."""
    from core import tokens

    encoding = tokens.resolve_encoding(model).encoding
    return _features_for_encoding(str(ws.root), ws.dataset_version(), encoding, model, frame)


@st.cache_resource(max_entries=4, show_spinner="Scanning every reply…")
def _quality_report(root: str, dataset_version: int, _frame: pd.DataFrame) -> Any:
    from core.quality import versioned  # measured in the background with the version, usually

    return versioned.version_report(Workspace.open(root), dataset_version, _frame)


def quality_report(ws: Workspace, frame: pd.DataFrame) -> Any:
    """Return :func:`core.quality.scan_quality` of the current version (stored with it, cached per server)."""
    return _quality_report(str(ws.root), ws.dataset_version(), frame)


# a resource, not data: Explore passes it on every rerun, and a copy of 100,000 names each time is waste
@st.cache_resource(max_entries=4, show_spinner=False)
def _topics(root: str, dataset_version: int, _frame: pd.DataFrame) -> tuple[str | None, ...]:
    from core import topics  # found in the background with the version, usually

    with embedding_bar("Embedding the prompts for topics…") as progress:
        return tuple(topics.version_topics(Workspace.open(root), dataset_version, _frame, progress=progress))


@contextlib.contextmanager
def embedding_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for an embedding pass: yields its ``(done, total)`` callback (rows/s and time left).

    The bar goes when the pass ends; inside a cached function it is not replayed on a hit.
    """
    from core.semantic.model import timed_progress

    slot = st.empty()
    bar = slot.progress(0.0, text=label)
    try:
        yield timed_progress(lambda p: bar.progress(p.done / max(p.total, 1), text=f"{label} {p.describe()}"))
    finally:
        slot.empty()


def version_topics(ws: Workspace, frame: pd.DataFrame) -> tuple[str | None, ...]:
    """Return each row's topic (:func:`core.topics.find_topics` of its prompt), stored with the version."""
    return _topics(str(ws.root), ws.dataset_version(), frame)


def plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``: a count and its noun."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` for display: a missing text value shows as an empty cell, not as "None"."""
    text = [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c]) or frame[c].isna().all()
    ]
    if not text:
        return frame
    return frame.assign(**{str(c): frame[c].astype(object).where(frame[c].notna(), "") for c in text})


def page_link(page: str, *, label: str, icon: str | None = None) -> None:
    """Link to another page; as plain text when the page runs on its own (tests, no navigation)."""
    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(f"→ {label} ({page})")


def md_text(value: Any) -> str:
    """Escape dataset text for places Streamlit reads as Markdown (alerts, captions, labels, buttons)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def highlight_markdown(runs: list[tuple[str, bool]], color: str = "orange") -> str:
    """Markdown of ``core.dedup.diff_words`` runs: text escaped, differing runs on a coloured background."""
    pieces = []
    for text, differs in runs:
        escaped = md_text(text).replace("\n", "  \n")
        pieces.append(f":{color}-background[{escaped}]" if differs and escaped.strip() else escaped)
    return "".join(pieces)


def stop_on_dataset_error(exc: DatasetError) -> None:
    """Show a problem with the person's data as a clear message and stop the page."""
    st.error(md_text(exc))  # messages quote values from the data
    st.stop()


def render_message(message: dict[str, Any]) -> None:
    """Show one chat message as plain text (nothing in a dataset can inject HTML)."""
    role = str(message.get("role", "?"))
    with st.chat_message(_chat_role(role), avatar=_ROLE_AVATARS.get(role)):
        st.caption(role + (f" · weight {message['weight']}" if "weight" in message else ""))
        content = message.get("content")
        if isinstance(content, str):
            st.text(content)
        elif content is not None:
            st.code(json.dumps(content, ensure_ascii=False, indent=1), language="json")
        for key in ("tool_calls", "function_call", "refusal"):
            if message.get(key):
                st.code(json.dumps(message[key], ensure_ascii=False, indent=1), language="json")


def render_example(row: pd.Series | dict[str, Any]) -> None:
    """Show one canonical example the way it reads: a conversation, and both sides of a preference."""
    for message in row.get("messages") or []:
        render_message(message)
    if row.get("kind") == "preference":
        left, right = st.columns(2)
        with left:
            st.markdown("**Chosen**")
            for message in row.get("chosen") or []:
                render_message(message)
        with right:
            st.markdown("**Rejected**")
            for message in row.get("rejected") or []:
                render_message(message)


def _chat_role(role: str) -> str:
    return role if role in ("user", "assistant") else "ai" if role == "tool" else "user"
