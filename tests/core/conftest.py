import itertools
import json

import pytest

from core import records
from core.workspace import Workspace
from tests.fake_openai_server import FakeOpenAIServer, Reply

_TOPICS = [
    (
        "billing",
        "I was charged twice for my {thing} subscription this month, can you refund one charge?",
        "I am sorry about the double charge on your {thing} plan. I have refunded the duplicate payment; "
        "it shows on your statement within five business days.",
    ),
    (
        "shipping",
        "My {thing} order has not arrived yet and the tracking page shows no update since Monday.",
        "Thanks for waiting. The carrier scanned your {thing} parcel at the regional hub yesterday; "
        "it should "
        "reach you within two days, and I will follow up if it does not.",
    ),
    (
        "returns",
        "How can I send back the {thing} I bought last week? It does not fit my needs.",
        "You can return the {thing} within thirty days. Open Orders, choose Return item, print the label and "
        "drop the parcel at any post office.",
    ),
]
_THINGS = [
    "laptop",
    "headphones",
    "coffee machine",
    "desk lamp",
    "backpack",
    "keyboard",
    "monitor",
    "camera",
    "blender",
    "phone case",
    "chair",
    "router",
]
_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]


def support_frame(n: int = 36):
    rows = []
    for i in range(n):
        category, user, assistant = _TOPICS[i % 3]
        thing = _THINGS[i % len(_THINGS)]
        rows.append(
            records.make_record(
                "sft",
                [
                    {"role": "user", "content": user.format(thing=thing) + f" Ticket {100 + i}."},
                    {"role": "assistant", "content": assistant.format(thing=thing)},
                ],
                extra={"category": category, "source": "real"},
                source_format="openai-sft",
                source_line=i + 1,
            )
        )
    return records.make_frame(rows)


def unique_reply(i: int, category: str = "billing") -> str:
    """A valid, never-duplicated example (English, typical length) for request number i."""
    words = [_WORDS[(i * 7 + j * 3) % len(_WORDS)] for j in range(6)]
    user = f"Question {i}: invoice {i * 13 % 997} lists the codes {' '.join(words)}. What do they mean?"
    assistant = (
        f"Those codes on invoice {i * 13 % 997} ({', '.join(words[:3])}) are internal references "
        f"for batch {i}; you can safely ignore them, nothing is wrong here."
    )
    return json.dumps({"examples": [{"user": user, "assistant": assistant, "category": category}]})


@pytest.fixture
def support_seeds():
    return support_frame()


@pytest.fixture
def synth_ws(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ws.save_dataset(support_frame(), note="test data", name="support.jsonl", source_format="openai-sft")
    return ws


@pytest.fixture
def fake_server():
    server = FakeOpenAIServer()
    counter = itertools.count()
    server.responder = lambda body: Reply(
        content=unique_reply(next(counter)), prompt_tokens=400, completion_tokens=120
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def forked_calls(monkeypatch):
    """Every ``core._fork.ForkedCall`` made during the test: a fallback test proves the fork ran.

    ``call._process`` is the child (``None`` when it never started); after ``result()`` its
    ``exitcode`` says how it ended (0 done, negative: killed by that signal).
    """
    from core import _fork

    made = []
    original = _fork.ForkedCall.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(_fork.ForkedCall, "__init__", recording)
    return made


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray (2 CPUs) for every test that runs the Ray engine (started once: a few seconds)."""
    ray = pytest.importorskip("ray")
    from core.pipeline.ray_engine import start_local_ray

    start_local_ray(2)
    yield
    ray.shutdown()
