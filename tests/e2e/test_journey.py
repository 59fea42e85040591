"""The whole journey in one real browser session, on a fresh workspace, clicked as a person would (issue 10).

Home → Upload (open the bundled sample) → Distribution → Dedup (apply) → Labels (sample annotations) →
Synthetic (offline teacher, live cost meter) → Review (approve, reject, undo) → Split & export (download
the bundle and open the zip) → Eval loop (bundled results) → Home (every step green).

A step that fails is recorded with a screenshot and the journey goes on where it can; the test fails at
the end with every problem, the step timings and the tail of the Streamlit log. With
TRAINSET_SCREENSHOTS=docs/screenshots (``make screenshots``) each page is saved as ``<n>_<name>.png``.
"""

import contextlib
import hashlib
import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest

from core.workspace import JOURNEY
from tests.e2e.conftest import (
    ROOT,
    exception_texts,
    expect_rerun,
    goto_page,
    log_tail,
    main_text,
    metric_value,
    save_page_image,
    screenshot,
    wait_for_app,
)

pytestmark = [pytest.mark.e2e, pytest.mark.teacher, pytest.mark.slow]

SAMPLE = ROOT / "sample_data" / "support_sft.jsonl"
SYNTH_EXAMPLES = 3  # the offline 135M teacher needs ~5-30 s per request on 2 busy cores
SYNTH_TIMEOUT_S = 300
TEACHER_TIMEOUT_MS = 200_000
REVIEWER = "Ada Lovelace"


class Journey:
    """Runs named steps in one tab; times them and turns a failure into a report instead of a stop."""

    def __init__(self, page, server: dict, artifacts: Path) -> None:
        self.page = page
        self.server = server
        self.artifacts = artifacts
        self.problems: list[str] = []
        self.timings: dict[str, float] = {}
        self.facts: dict[str, object] = {}

    @contextlib.contextmanager
    def step(self, name: str, *, critical: bool = False):
        start = time.monotonic()
        try:
            yield
            crashed = exception_texts(self.page)
            if crashed:
                raise AssertionError("the page shows an exception box:\n" + crashed[0][:3000])
        except Exception as exc:  # noqa: BLE001 - every failure is reported below, with its context
            shot: Path | str = "(none: the tab is gone)"
            with contextlib.suppress(Exception):
                shot = save_page_image(self.page, self.artifacts / f"failed_{name}.png")
            self.problems.append(
                f"[{name}] {type(exc).__name__}: {str(exc).strip()[:3000]}\n"
                f"    url: {self.page.url}\n    screenshot: {shot}"
            )
            if critical:
                self.fail(f"critical step {name!r} failed; the rest of the journey needs it")
        finally:
            self.timings[name] = time.monotonic() - start

    def check(self, condition: bool, message: str) -> None:
        """A problem the journey can go on after (the step still counts as failed in the report)."""
        if not condition:
            raise AssertionError(message)

    def report(self) -> str:
        total = sum(self.timings.values())
        lines = [f"  {name:<12} {seconds:6.1f} s" for name, seconds in self.timings.items()]
        return f"step timings (total {total:.0f} s):\n" + "\n".join(lines)

    def fail(self, headline: str) -> None:
        pytest.fail(
            f"{headline}\n\n"
            + "\n\n".join(self.problems)
            + f"\n\n{self.report()}\n\nstreamlit log tail:\n{log_tail(self.server)}",
            pytrace=False,
        )


def _number(text: str) -> float:
    """The first number in a metric value ("1,234", "$0.00012", "88.5%")."""
    found = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    if found is None:
        raise AssertionError(f"no number in {text!r}")
    return float(found.group().replace(",", ""))


def _click(page, key: str) -> None:
    """Click the button of the widget with this key and wait for the rerun."""
    with expect_rerun(page):
        page.locator(f".st-key-{key} button").first.click()


def _type(page, key: str, value: str) -> None:
    """Type into a text or number input (Enter commits it) and wait for the rerun."""
    box = page.locator(f".st-key-{key} input").first
    if box.input_value() == value:
        return  # nothing changes, so nothing reruns
    with expect_rerun(page):
        box.fill(value)
        box.press("Enter")


def _choose(page, key: str, option: str) -> None:
    """Pick an option of a selectbox."""
    box = page.locator(f".st-key-{key} [role='combobox']").first
    if box.input_value() == option:
        return
    box.click()
    box.fill(option)  # typing filters the list and opens it (a bare click sometimes leaves it closed)
    with expect_rerun(page):
        page.get_by_role("option", name=option, exact=True).click()
    if box.input_value() != option:
        raise AssertionError(f"selectbox {key} shows {box.input_value()!r} after choosing {option!r}")


def _open(page, title: str) -> None:
    """Open a page from the sidebar; a crash is reported at once with its text (not as a later timeout)."""
    goto_page(page, title)
    crashed = exception_texts(page)
    if crashed:
        raise AssertionError(f"the {title} page shows an exception box:\n{crashed[0][:3000]}")


def _expander(page, title_part: str):
    return page.locator('[data-testid="stExpander"] summary').filter(has_text=title_part).first


# -- the steps ----------------------------------------------------------------------------------------


def _home_first(j: Journey, url: str) -> None:
    page = j.page
    page.goto(url)
    wait_for_app(page)
    text = main_text(page)
    j.check("No dataset yet" in text, f"home page does not say 'No dataset yet': {text[:400]!r}")
    screenshot(page, "0_home")
    with expect_rerun(page):
        page.locator('[data-testid="stMain"]').get_by_role("link", name="Start: Upload").click()
    j.check(page.url.rstrip("/").endswith("/Upload"), f"'Start: Upload' led to {page.url}")


def _upload(j: Journey) -> None:
    page = j.page
    if not page.url.rstrip("/").endswith("/Upload"):
        _open(page, "Upload")
    _click(page, "upload_open_sample")
    page.get_by_text(f"Opened {SAMPLE.name}").wait_for()
    valid = int(_number(metric_value(page, "Valid examples")))
    quarantined = int(_number(metric_value(page, "Quarantined rows")))
    errors = int(_number(metric_value(page, "Errors")))
    lines = len(SAMPLE.read_text(encoding="utf-8").splitlines())
    j.facts.update(rows_uploaded=valid, quarantined=quarantined)
    j.check(quarantined > 0 and errors >= quarantined, f"quarantined {quarantined}, errors {errors}")
    j.check(valid + quarantined == lines, f"{valid} valid + {quarantined} quarantined != {lines} lines")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    j.check(
        f"Quarantine: {quarantined:,} rows kept aside" in main_text(page), "the quarantine table is not shown"
    )
    screenshot(page, "1_upload")


def _distribution(j: Journey) -> None:
    page = j.page
    _open(page, "Distribution")
    page.get_by_role("heading", name="Readiness checklist").wait_for()
    _click(page, "distribution_save")
    page.get_by_text(re.compile(r"Saved \d+ targets")).wait_for()
    coverage = _expander(page, "Category coverage")
    title = coverage.inner_text().replace("keyboard_arrow_right", "").strip()
    j.facts["category_check"] = title
    failed_small = "❌" in title and "gift_cards" in title and "data_privacy" in title
    coverage.click()  # opens to the rows behind the check, for the screenshot
    page.wait_for_timeout(500)
    screenshot(page, "2_distribution")
    j.check(failed_small, f"the category check does not fail on gift_cards and data_privacy: {title!r}")


def _quality(j: Journey) -> None:
    page = j.page
    _open(page, "Quality")
    page.get_by_text("Examples flagged").first.wait_for()
    flagged = metric_value(page, "Examples flagged")
    j.facts["quality_flagged"] = flagged
    bars = page.locator('[data-testid="stPlotlyChart"] g.point')
    bars.first.wait_for()
    j.check(
        bars.count() >= 2,
        f"the Quality chart shows {bars.count()} bars (the sample has a refusal and a repetition)",
    )
    box = bars.nth(1).locator("path").bounding_box()  # the second signal's bar
    with expect_rerun(page):  # plotly takes clicks on the plot's drag layer, at the bar's place
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name=re.compile(r"^Repetition: 1 example$")).wait_for()
    screenshot(page, "2b_quality")


def _dedup(j: Journey) -> None:
    page = j.page
    _open(page, "Dedup")
    page.get_by_text(re.compile(r"clusters, largest first")).wait_for()
    before = int(_number(metric_value(page, "Rows now")))
    apply = page.locator(".st-key-dedup_apply button")
    removed = int(_number(apply.inner_text()))
    j.check(removed > 0, f"nothing to remove on the sample: {apply.inner_text()!r}")
    screenshot(page, "3_dedup")
    with expect_rerun(page):
        apply.click()
    page.get_by_text(f"Removed {removed:,} rows").wait_for()
    after = int(_number(metric_value(page, "Rows now")))
    j.facts["rows_after_dedup"] = after
    j.check(after == before - removed, f"rows {before} - {removed} removed shows {after}")


def _labels(j: Journey) -> None:
    page = j.page
    _open(page, "Labels")
    if "No annotator labels yet" in main_text(page):
        _click(page, "labels_load_sample")
    page.get_by_text(re.compile(r"Gate (passed|failed): kappa")).first.wait_for()
    kappa = metric_value(page, "Overall kappa")
    j.facts["kappa"] = kappa
    j.check(re.fullmatch(r"-?\d\.\d\d", kappa) is not None, f"overall kappa shows {kappa!r}")
    screenshot(page, "4_labels")


def _meter_reading(page) -> str | None:
    box = page.locator('[data-testid="stMetric"]').filter(has_text="Tokens in / out")
    if not box.count():
        return None
    with contextlib.suppress(Exception):
        return box.first.locator('[data-testid="stMetricValue"]').inner_text(timeout=2_000).strip()
    return None


def _start_teacher(j: Journey) -> None:
    page = j.page
    status_label = "Offline teacher (SmolLM2-135M, llama.cpp)"
    page.get_by_text(status_label).wait_for()
    clicks = 0
    while metric_value(page, status_label) != "running" and clicks < 3:
        with expect_rerun(page, timeout=TEACHER_TIMEOUT_MS):
            page.locator(".st-key-synth_local_start button").click()
        clicks += 1
    j.facts["teacher_start_clicks"] = clicks
    status = metric_value(page, status_label)
    errors = page.locator('[data-testid="stAlert"]').all_inner_texts()
    j.check(status == "running", f"the offline teacher is {status!r} after {clicks} clicks; boxes: {errors}")


def _watch_run(j: Journey) -> list[str]:
    """Poll the live meter until the run ends; return every distinct 'Tokens in / out' reading."""
    page = j.page
    readings: list[str] = []
    deadline = time.monotonic() + SYNTH_TIMEOUT_S
    while time.monotonic() < deadline:
        reading = _meter_reading(page)
        if reading and (not readings or readings[-1] != reading):
            readings.append(reading)
        if page.get_by_text(re.compile(r"^Status: ")).count():
            return readings
        page.wait_for_timeout(1_000)
    raise AssertionError(f"the run did not finish within {SYNTH_TIMEOUT_S} s; meter readings {readings}")


def _synthetic(j: Journey) -> None:
    page = j.page
    _open(page, "Synthetic")
    _start_teacher(j)
    _type(page, "synth_n", str(SYNTH_EXAMPLES))
    _type(page, "synth_budget", "0.50")
    page.get_by_text("Estimate before running").wait_for()
    _click(page, "synth_start")
    readings = _watch_run(j)
    wait_for_app(page)
    tokens_in, tokens_out = (int(x.replace(",", "")) for x in re.findall(r"[\d,]+", readings[-1])[:2])
    generated = int(_number(metric_value(page, "Generated")))
    passing = int(_number(metric_value(page, "Passing")))
    status = page.get_by_text(re.compile(r"^Status: ")).first.inner_text()
    j.facts.update(meter=readings, generated=generated, passing=passing, run_status=status)
    screenshot(page, "5_synthetic")
    j.check(len(readings) >= 2, f"the cost meter never moved while running: {readings}")
    j.check(tokens_in > 0 and tokens_out > 0, f"tokens in / out after the run: {readings[-1]}")
    j.check(generated > 0, f"the run generated nothing ({status})")
    j.check(passing > 0, f"no generated example passed the validators ({status}): nothing to review")
    # what a person reads right after the run, without touching anything
    stale = []
    tab = page.get_by_role("tab", name=re.compile(r"^Passing \(\d+\)"))
    shown = tab.first.inner_text() if tab.count() else "(no Batches section)"
    if shown != f"Passing ({passing})":
        stale.append(f"the Batches section shows {shown!r} while the meter says {passing} passing")
    if page.locator(".st-key-synth_start button").is_disabled():
        stale.append("'Start generating' stays disabled although the run is over")
    j.check(not stale, f"after the run ended: {'; '.join(stale)} (the page is not re-run when the run ends)")


def _reviewed(page) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"\d+ of \d+ sampled examples reviewed")).first.inner_text()
    done, size = re.findall(r"\d+", text)[:2]
    return int(done), int(size)


def _review(j: Journey) -> None:
    page = j.page
    _open(page, "Review")
    if "No synthetic batches yet" in main_text(page):
        raise AssertionError("no synthetic batch to review (the Synthetic step made none)")
    page.locator(".st-key-review_reviewer input").wait_for()
    _type(page, "review_reviewer", REVIEWER)
    done, size = _reviewed(page)
    j.check(done == 0 and size > 0, f"a fresh batch shows {done} of {size} reviewed")
    _click(page, "review_approve")
    j.check(_reviewed(page)[0] == 1, f"after Approve: {_reviewed(page)}")
    if size < 2:
        _click(page, "review_undo")
        j.check(_reviewed(page)[0] == 0, f"after Undo: {_reviewed(page)}")
        _click(page, "review_approve")
        expected = "100.0%"
    else:
        _reject(page, "incorrect", "Invents an order number")
        j.check(_reviewed(page)[0] == 2, f"after Reject: {_reviewed(page)}")
        _click(page, "review_undo")
        j.check(_reviewed(page)[0] == 1, f"after Undo: {_reviewed(page)}")
        _reject(page, "off-distribution", "Not how our customers write")
        expected = "50.0%"
    rate = metric_value(page, "This batch")
    j.facts["pass_rate"] = rate
    screenshot(page, "6_review")
    j.check(rate.startswith(expected), f"pass rate shows {rate!r}, expected {expected}")


def _reject(page, reason: str, note: str) -> None:
    _choose(page, "review_reason", reason)
    _type(page, "review_note", note)
    _click(page, "review_reject")


def _split(j: Journey) -> None:
    page = j.page
    _open(page, "Split & export")
    page.get_by_role("heading", name="Export bundle").wait_for()
    counts = {name: int(_number(metric_value(page, name.capitalize()))) for name in ("train", "val", "test")}
    _click(page, "split_build")
    download_button = page.locator(".st-key-split_download button")
    download_button.wait_for()
    screenshot(page, "7_split")
    with page.expect_download() as info:
        download_button.click()
    data = Path(info.value.path()).read_bytes()
    j.facts["bundle"] = info.value.suggested_filename
    _check_bundle(j, data, counts)


def _check_bundle(j: Journey, data: bytes, counts: dict[str, int]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        files = {name: archive.read(name) for name in names}
    j.facts["bundle_files"] = names
    for part in ("train", "val", "test"):
        j.check(any(Path(n).stem == part for n in names), f"no {part} file in the bundle: {names}")
    j.check("manifest.json" in files and "README.md" in files, f"manifest or card missing: {names}")
    manifest = json.loads(files["manifest.json"])
    j.check(manifest["counts"] == counts, f"manifest counts {manifest['counts']} vs the page's {counts}")
    for name, meta in manifest["files"].items():
        j.check(name in files, f"the manifest lists {name}, the zip does not have it")
        j.check(hashlib.sha256(files[name]).hexdigest() == meta["sha256"], f"sha256 of {name} differs")
    for name in (n for n in names if n.endswith(".jsonl") and Path(n).stem in counts):
        rows = [json.loads(line) for line in files[name].decode("utf-8").splitlines() if line.strip()]
        j.check(len(rows) == counts[Path(name).stem], f"{name}: {len(rows)} rows, the page said {counts}")
    card = files["README.md"].decode("utf-8")
    j.check(len(card) > 200 and SAMPLE.name in card, f"the data card is thin: {card[:300]!r}")


def _eval(j: Journey) -> None:
    page = j.page
    _open(page, "Eval loop")
    page.get_by_role("heading", name="Per category").wait_for()
    accuracy = metric_value(page, "Accuracy")
    j.facts["eval_accuracy"] = accuracy
    j.check(accuracy.endswith("%"), f"accuracy shows {accuracy!r}")
    j.check(page.locator('[data-testid="stDataFrame"]').count() > 0, "no per-category table")
    _click(page, "eval_save_round")
    page.get_by_text(re.compile(r"Saved as round \d+")).first.wait_for()
    screenshot(page, "8_eval")


def _home_done(j: Journey) -> None:
    page = j.page
    _open(page, "Home")
    page.get_by_role("heading", name="Journey").wait_for()
    links = " | ".join(page.locator('[data-testid="stMain"] [data-testid="stPageLink"]').all_inner_texts())
    missing = [title for _, title in JOURNEY if f"🟢 {title}" not in links]
    screenshot(page, "9_home")
    j.check(not missing, f"steps not green on the home page: {missing}; links: {links}")
    if "rows_after_dedup" in j.facts:
        examples = int(_number(metric_value(page, "Examples")))
        j.check(examples == j.facts["rows_after_dedup"], f"home shows {examples} examples")
    quarantined = int(_number(metric_value(page, "Quarantined rows")))
    j.check(quarantined == j.facts["quarantined"], f"home shows {quarantined} quarantined rows")


def test_the_whole_journey_in_one_browser_session(app_server, page):
    # not tmp_path (pytest keeps only its last 3 base folders): test-artifacts/ is git-ignored, CI can keep it
    artifacts = ROOT / "test-artifacts" / "e2e" / time.strftime("%Y%m%d-%H%M%S")
    journey = Journey(page, app_server, artifacts)
    with journey.step("home", critical=True):
        _home_first(journey, app_server["url"])
    with journey.step("upload", critical=True):
        _upload(journey)
    with journey.step("distribution"):
        _distribution(journey)
    with journey.step("quality"):
        _quality(journey)
    with journey.step("dedup"):
        _dedup(journey)
    with journey.step("labels"):
        _labels(journey)
    with journey.step("synthetic"):
        _synthetic(journey)
    with journey.step("review"):
        _review(journey)
    with journey.step("split"):
        _split(journey)
    with journey.step("eval"):
        _eval(journey)
    with journey.step("home_done"):
        _home_done(journey)
    print(journey.report())
    print("facts:", json.dumps(journey.facts, indent=1, default=str))
    if journey.problems:
        journey.fail(f"{len(journey.problems)} step(s) of the journey failed")
