import itertools
import threading

import hypothesis.strategies as hs
import pytest
from hypothesis import HealthCheck, given, settings

from core.synth import prompts, runner, teachers, validators
from core.synth.budget import FREE, Budget, Price, count_prompt_tokens, reserved_prompt_tokens
from core.workspace import Workspace
from tests.core.conftest import support_frame, unique_reply
from tests.fake_openai_server import FakeOpenAIServer, Reply


@pytest.mark.parametrize(
    "price, usage, expected",
    [
        (Price(1.0, 2.0), (1_000_000, 0, 0), 1.0),
        (Price(1.0, 2.0), (0, 0, 500_000), 1.0),
        (Price(1.0, 2.0, 0.5), (1_000_000, 1_000_000, 0), 0.5),
        (Price(1.0, 2.0), (1_000_000, 400_000, 0), 1.0),  # no cached price: cached at full price
        (FREE, (10_000, 0, 10_000), 0.0),
    ],
)
def test_cost(price, usage, expected):
    assert price.cost(*usage) == pytest.approx(expected)


def test_worst_case_uses_margin_and_max_tokens():
    price = Price(1.0, 2.0)
    assert price.worst_case(100, 50) == pytest.approx((reserved_prompt_tokens(100) * 1.0 + 50 * 2.0) / 1e6)
    assert reserved_prompt_tokens(100) > 100


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_prices_and_budgets_are_refused(bad):
    with pytest.raises(ValueError, match="price"):
        Price(bad, 1.0)
    with pytest.raises(ValueError, match="budget"):
        Budget(bad)


def test_budget_reserve_and_settle():
    budget = Budget(1.0)
    assert budget.try_reserve(0.6)
    assert not budget.try_reserve(0.5)
    budget.settle(0.6, 0.2)
    assert budget.spent == pytest.approx(0.2) and budget.reserved == 0
    assert budget.try_reserve(0.8)
    assert budget.left == pytest.approx(0.0)


def test_an_unknown_outcome_stays_counted_and_a_retry_reserves_again():
    budget = Budget(1.0, spent_usd=0.1, at_risk_usd=0.2)
    assert budget.left == pytest.approx(0.7)
    assert budget.try_reserve(0.4)
    budget.book_at_risk(0.4)  # the attempt timed out: it may have been billed
    assert (budget.spent, budget.at_risk, budget.reserved) == pytest.approx((0.1, 0.6, 0.0))
    assert not budget.try_reserve(0.4)  # the retry does not fit any more
    assert budget.try_reserve(0.3)


@given(hs.lists(hs.tuples(hs.floats(0, 0.3), hs.floats(0, 1)), max_size=60))
def test_budget_never_overcommits_across_threads(ops):
    budget = Budget(1.0)

    def worker(amount, fraction):
        if budget.try_reserve(amount):
            assert budget.spent + budget.reserved <= 1.0 + 1e-9
            budget.settle(amount, amount * fraction)

    threads = [threading.Thread(target=worker, args=op) for op in ops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.spent <= 1.0 + 1e-9 and budget.reserved == pytest.approx(0.0, abs=1e-9)


_reply = hs.one_of(
    hs.builds(
        lambda lat, p, c: ("ok", lat, p, c), hs.floats(0, 0.02), hs.floats(0.01, 1.0), hs.integers(1, 120)
    ),
    hs.builds(
        lambda lat, s: ("status", lat, s, 0), hs.floats(0, 0.02), hs.sampled_from([429, 500, 502, 503])
    ),
    hs.just(("malformed", 0.0, 0, 0)),
)


@pytest.fixture(scope="module")
def property_env(tmp_path_factory):
    server = FakeOpenAIServer().start()
    yield server, tmp_path_factory
    server.stop()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    replies=hs.lists(_reply, min_size=1, max_size=40),
    budget=hs.floats(0.0005, 0.01),
    concurrency=hs.integers(1, 8),
)
def test_spent_never_exceeds_budget(property_env, replies, budget, concurrency):
    server, tmp_factory = property_env
    counter = itertools.count()
    script = iter(replies)

    def respond(body):
        kind, latency, a, b = next(script, ("ok", 0.0, 1.0, 100))
        if kind == "ok":
            # the server bills at most the real prompt (our exact count) and at most max_tokens out
            prompt = max(1, int(a * count_prompt_tokens(body["messages"], "gpt-4o-mini")))
            return Reply(
                content=unique_reply(next(counter)),
                latency=latency,
                prompt_tokens=prompt,
                completion_tokens=b,
            )
        if kind == "status":
            return Reply(status=a, latency=latency, retry_after=0 if a == 429 else None)
        return Reply(malformed=True)

    server.responder = respond
    server.script = []
    server.ledger.clear()
    server.honour_idempotency = False  # a provider that bills every generation, malformed ones too
    server.bill_malformed = True
    ws = Workspace.open(tmp_factory.mktemp("ws"))
    frame = support_frame(12)
    ws.save_dataset(frame, note="seeds")
    teacher = teachers.TeacherConfig(base_url=server.base_url, model="gpt-4o-mini", timeout_s=5)
    run_settings = runner.RunSettings(
        teacher=teacher,
        price=Price(2.0, 8.0, 0.5),
        budget_usd=budget,
        max_tokens=120,
        concurrency=concurrency,
        backoff_base_s=0.001,
        backoff_max_s=0.002,
    )
    rules = validators.Rules()
    run_id = runner.create_run(ws, frame, prompts.PlanConfig(n=15, seeds_per_request=1), run_settings, rules)
    stopped_by = runner.execute_run(ws, run_id)
    meter = runner.progress(ws, run_id)
    # malformed answers count at their worst case: even a provider that bills them stays in budget
    billed = sum(p * 2.0 + c * 8.0 for _key, p, c in server.ledger) / 1e6
    assert billed <= meter.spent_usd + meter.at_risk_usd + 1e-12
    assert meter.spent_usd + meter.at_risk_usd <= budget + 1e-12
    assert stopped_by in ("done", "budget")
    if stopped_by == "budget":
        assert meter.requests_pending > 0


# -- write-ahead accounting over random schedules, a kill being the loss of everything in memory ------

_step = hs.one_of(
    hs.tuples(hs.just("ok"), hs.floats(0, 1)),  # answered; billed this fraction of the worst case
    hs.tuples(hs.just("http_error"), hs.just(0.0)),  # answered with an error status: not billed
    hs.tuples(hs.just("unreachable"), hs.just(0.0)),  # no connection: nothing sent, nothing billed
    hs.tuples(hs.just("timeout"), hs.floats(0, 1)),  # no answer; the provider may have billed it
    hs.tuples(hs.just("kill_after_send"), hs.floats(0, 1)),  # the process dies with the request out
    hs.tuples(hs.just("kill_before_send"), hs.just(0.0)),  # dies between the write-ahead and the send
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=hs.lists(hs.tuples(_step, hs.floats(0.0001, 0.003)), max_size=40), limit=hs.floats(0.001, 0.02))
def test_write_ahead_accounting_holds_for_any_schedule_of_outcomes_and_kills(tmp_path_factory, steps, limit):
    from core import lease
    from core.synth import store
    from core.synth.store import CallResult

    ws = Workspace.open(tmp_path_factory.mktemp("ws"))
    frame = support_frame(6)
    ws.save_dataset(frame, note="seeds")
    teacher = teachers.TeacherConfig(base_url="http://127.0.0.1:9/v1", model="m")
    run_settings = runner.RunSettings(teacher=teacher, price=Price(1.0, 1.0), budget_usd=limit)
    run_id = runner.create_run(
        ws,
        frame,
        prompts.PlanConfig(n=len(steps) or 1, seeds_per_request=1),
        run_settings,
        validators.Rules(),
    )
    rows = store.pending_requests(ws, run_id)

    def restart():  # what a new process knows: only what is in the database
        held = lease.acquire(ws, store.lease_name(run_id), label="test", ttl_s=0)
        store.mark_unanswered(ws, run_id)
        return held, Budget(
            limit, **dict(zip(("spent_usd", "at_risk_usd"), store.spent(ws, run_id), strict=True))
        )

    held, budget = restart()
    billed = 0.0
    for index, ((outcome, fraction), worst) in enumerate(steps):
        row = rows[index]
        if not budget.try_reserve(worst):
            continue
        with ws.connect() as c:
            call_id = store.insert_sent(c, row, attempt=1, model="m", at_risk=worst, token=held.token)
        if outcome == "kill_before_send":
            held, budget = restart()
        elif outcome == "kill_after_send":
            billed += fraction * worst
            held, budget = restart()
        elif outcome == "ok":
            billed += fraction * worst
            with ws.connect() as c:
                result = CallResult("ok", cost=fraction * worst, content="{}")
                store.write_finish(
                    c,
                    row,
                    call_id=call_id,
                    attempt=1,
                    model="m",
                    result=result,
                    examples=[],
                    mode="sft",
                    prompt="",
                )
            budget.settle(worst, fraction * worst)
        elif outcome == "timeout":
            billed += fraction * worst
            with ws.connect() as c:
                store.record_attempt(c, call_id, CallResult("timeout", at_risk=worst))
            budget.book_at_risk(worst)
        else:  # an error status or no connection: nothing billed, nothing at risk
            with ws.connect() as c:
                store.record_attempt(c, call_id, CallResult(outcome))
            budget.settle(worst, 0.0)
        spent, at_risk = store.spent(ws, run_id)
        assert billed <= spent + at_risk + 1e-12  # what the meter shows covers every bill
        assert spent + at_risk <= limit + 1e-12  # and never passes the budget
        assert budget.spent + budget.at_risk + budget.reserved <= limit + 1e-12
    held.release()
