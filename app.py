import streamlit as st

from core.project import Project
from core.workspace import JOURNEY
from ui import current_dataset, md_text, open_workspace

_PAGES = {
    "upload": ("pages/1_Upload.py", "⬆️", "Upload a file or open a sample; see every format error by line."),
    "distribution": (
        "pages/2_Distribution.py",
        "📊",
        "Lengths, categories, difficulty, negatives, languages, drift.",
    ),
    "quality": (
        "pages/2_Quality.py",
        "🔎",
        "Refusals, truncated or echoed replies, PII and secrets; redact.",
    ),
    "labels": ("pages/3_Labels.py", "🏷️", "Inter-annotator agreement and where annotators disagree."),
    "dedup": ("pages/4_Dedup.py", "🧬", "Preview and remove exact and near duplicates."),
    "synthetic": (
        "pages/5_Synthetic.py",
        "🧪",
        "Generate from seeds with a live cost meter and a hard budget.",
    ),
    "review": ("pages/6_Review.py", "✅", "Approve or reject a 10% sample; 90% is the bar."),
    "split": (
        "pages/7_Split_and_export.py",
        "📦",
        "Stratified, leak-free splits, a locked test set, the bundle.",
    ),
    "eval": ("pages/8_Eval_loop.py", "🔁", "Eval failures become the next round of data."),
}


def home() -> None:
    ws = open_workspace()
    st.title("Trainset Studio")
    st.write(
        "Turn a raw fine-tuning dataset into clean, balanced, leak-free train / val / test splits. "
        "Work through the steps in order; each one is saved in the workspace, so a refresh loses nothing."
    )
    frame = current_dataset(ws)
    info = ws.dataset_info()
    if frame is None or info is None:
        st.info("No dataset yet. Start by uploading a file, or open the bundled customer-support sample.")
        st.page_link(_PAGES["upload"][0], label="Start: Upload", icon="⬆️")
    else:
        cols = st.columns([3, 1, 1, 1])  # file names are long: give the name room
        project = Project.of(ws.root)
        named = {e.root: e.name for e in project.datasets()}
        cols[0].metric("Dataset", named.get(ws.root) or info.name or "unnamed")
        cols[1].metric("Examples", f"{info.rows:,}")
        cols[2].metric("Quarantined rows", f"{info.quarantined:,}")
        cols[3].metric("Version", f"v{info.version}", help=info.note)
    st.subheader("Journey")
    steps = ws.steps()
    next_step = next((step for step, _ in JOURNEY if step not in steps), None)
    for step, title in JOURNEY:
        path, icon, blurb = _PAGES[step]
        done = step in steps
        mark = "🟢" if done else ("👉" if step == next_step else "⚪")
        left, right = st.columns([1, 3])
        with left:
            st.page_link(path, label=f"{mark} {title}", icon=icon)
        with right:
            summary = steps[step]["summary"] if done else None
            # summaries quote the data (file names, batch ids, the worst eval slice)
            st.caption(blurb + (f" — done: {md_text(_summary_text(summary))}" if summary else ""))


def _summary_text(summary: dict) -> str:
    plain = [(k, v) for k, v in summary.items() if not isinstance(v, dict | list)]  # a checklist is too long
    return ", ".join(f"{k} {v}" for k, v in plain[:4])


pages = [st.Page(home, title="Home", icon="🏠", default=True)] + [
    st.Page(path, title=title, icon=_PAGES[step][1])
    for (step, title), (path, *_rest) in ((item, _PAGES[item[0]]) for item in JOURNEY)
]
pages.append(st.Page("pages/9_Explore.py", title="Explore", icon="🔭"))  # a tool for every step, not a step
st.set_page_config(page_title="Trainset Studio", page_icon="🧰", layout="wide")
st.navigation(pages).run()
