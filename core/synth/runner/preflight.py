"""Before anything is sent: the run's settings and limits, the cost estimate, the stored plan."""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.synth import prompts, store, teachers
from core.synth.budget import Price
from core.synth.store import RequestRow
from core.synth.validators import Rules
from core.workspace import Workspace

MAX_BUDGET_USD = 100_000.0
MAX_EXAMPLES = 100_000
MAX_EXAMPLES_WHY = (
    "every request of a run is planned and stored before the first is sent; start more runs for more"
)
"""Why one run is kept to :data:`MAX_EXAMPLES` examples (a plan of about 100 MB at most)."""
MAX_TOKENS = 200_000
MAX_CONCURRENCY = 256


@dataclass(frozen=True)
class RunSettings:
    """How to run: teacher, price, budget, limits and retry policy."""

    teacher: teachers.TeacherConfig
    price: Price
    budget_usd: float
    max_tokens: int = 512
    concurrency: int = 8
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    temperature: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.budget_usd, (int, float)) or not math.isfinite(self.budget_usd):
            raise ValueError(f"budget must be a finite number of USD, got {self.budget_usd!r}")
        if not 0 <= self.budget_usd <= MAX_BUDGET_USD:
            raise ValueError(
                f"budget must be between 0 and {MAX_BUDGET_USD:,.0f} USD, got {self.budget_usd!r}"
            )
        if not 1 <= self.max_tokens <= MAX_TOKENS:
            raise ValueError(f"max_tokens must be in 1..{MAX_TOKENS}, got {self.max_tokens!r}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be in 1..{MAX_CONCURRENCY}, got {self.concurrency!r}")
        if not 1 <= self.max_attempts <= 100:
            raise ValueError(f"max_attempts must be in 1..100, got {self.max_attempts!r}")
        for name in ("backoff_base_s", "backoff_max_s", "temperature"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON data stored with the run (no secret in it)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("teacher", "price")}
        return {**out, "teacher": self.teacher.to_dict(), "price": self.price.__dict__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """Inverse of :meth:`to_dict`."""
        rest = {k: v for k, v in data.items() if k not in ("teacher", "price")}
        return cls(teacher=teachers.TeacherConfig(**data["teacher"]), price=Price(**data["price"]), **rest)


@dataclass(frozen=True)
class Estimate:
    """The pre-flight cost estimate of a run."""

    requests: int
    examples: int
    prompt_tokens: int
    expected_output_tokens: int
    cost_per_example: float
    total: float
    worst_case_total: float
    affordable: int


def estimate(
    rows: list[RequestRow], plan: prompts.PlanConfig, settings: RunSettings, seeds: pd.DataFrame
) -> Estimate:
    """Return the expected cost from exact prompt tokens and the seeds' answer lengths."""
    out_tokens = min(prompts.expected_output_tokens(seeds, plan, settings.teacher.model), settings.max_tokens)
    price = settings.price
    per_request = [price.cost(r.prompt_tokens_est, 0, out_tokens) for r in rows]
    total = float(sum(per_request))
    examples = sum(int(r.context.get("n", 1)) for r in rows)
    per_example = total / examples if examples else 0.0
    affordable = examples if price.free else _affordable(rows, settings)
    return Estimate(
        requests=len(rows),
        examples=examples,
        prompt_tokens=sum(r.prompt_tokens_est for r in rows),
        expected_output_tokens=out_tokens * len(rows),
        cost_per_example=per_example,
        total=total,
        worst_case_total=sum(price.worst_case(r.prompt_tokens_est, settings.max_tokens) for r in rows),
        affordable=min(examples, int(settings.budget_usd / per_example)) if per_example else affordable,
    )


def check_affordable(seeds: pd.DataFrame, plan: prompts.PlanConfig, settings: RunSettings) -> None:
    """Refuse a budget that cannot pay for even the first request, before a run is stored.

    Raises:
        ValueError: If the first request's worst case is more than the budget.
    """
    if settings.price.free:
        return
    first = prompts.plan_requests(
        seeds,
        dataclasses.replace(plan, n=min(plan.n, plan.per_request)),
        run_id="check",
        model=settings.teacher.model,
    )
    worst = settings.price.worst_case(first[0].prompt_tokens_est, settings.max_tokens)
    if worst > settings.budget_usd:
        raise ValueError(
            f"the budget (${settings.budget_usd:g}) does not cover even one request: its worst case is "
            f"${worst:.6f} ({first[0].prompt_tokens_est} prompt tokens with a margin, {settings.max_tokens} "
            "max_tokens out); raise --budget or lower --max-tokens"
        )


def _affordable(rows: list[RequestRow], settings: RunSettings) -> int:
    left, count = settings.budget_usd, 0
    for row in rows:
        left -= settings.price.worst_case(row.prompt_tokens_est, settings.max_tokens)
        if left < 0:
            break
        count += int(row.context.get("n", 1))
    return count


def create_run(
    ws: Workspace,
    seeds: pd.DataFrame,
    plan: prompts.PlanConfig,
    settings: RunSettings,
    rules: Rules,
    *,
    run_id: str | None = None,
) -> str:
    """Plan a run and store it with all its requests (nothing is sent yet); return its id (= batch id).

    With a ``run_id`` that is stored already (another process created it a moment ago), the stored
    run stands and its id is returned: two creators never fail, nor make two runs of one id.

    Raises:
        ValueError: If the plan asks for more than :data:`MAX_EXAMPLES` examples.
    """
    if not 1 <= plan.n <= MAX_EXAMPLES:
        raise ValueError(f"a run generates 1 to {MAX_EXAMPLES:,} examples, got {plan.n!r}")
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    rows = prompts.plan_requests(seeds, plan, run_id=run_id, model=settings.teacher.model)
    plan_data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.__dict__.items()}
    config = {
        **settings.to_dict(),
        "plan": plan_data,
        "rules": rules.to_dict(),
        "model": settings.teacher.model,
    }
    store.insert_run(
        ws, run_id, mode=plan.mode, config=config, budget_usd=settings.budget_usd, requested=plan.n, rows=rows
    )
    return run_id
