"""Write the small format samples of this folder (run: .venv/bin/python sample_data/formats/make_formats.py).

Every planted problem is listed with its line in README.md; tests/core/test_io.py checks them.
"""
# ruff: noqa: E501, D103, ANN001, ANN201, ANN202, E731, E402, B905, E741

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent
QA = [
    (
        "How do I reset my password?",
        "Go to Settings > Security > Reset password and follow the email link.",
        "account",
        "easy",
    ),
    (
        "Can I change the email on my account?",
        "Yes: Settings > Profile > Email. We send a confirmation to the new address.",
        "account",
        "easy",
    ),
    (
        "My card was charged twice.",
        "Sorry about that. The duplicate is a pending hold and drops off within 3 business days.",
        "billing",
        "moderate",
    ),
    (
        "How do I get an invoice for last month?",
        "Open Billing > Invoices and click Download next to the month.",
        "billing",
        "easy",
    ),
    (
        "The app crashes when I upload a photo.",
        "Please update to version 4.2; it fixes a crash with large HEIC photos.",
        "bug",
        "moderate",
    ),
    (
        "Where is my order #4412?",
        "It left our warehouse yesterday; the tracking link is in your confirmation email.",
        "shipping",
        "easy",
    ),
    (
        "Do you ship to Canada?",
        "Yes, to every province. Delivery takes 5 to 8 business days.",
        "shipping",
        "easy",
    ),
    (
        "How do I cancel my subscription?",
        "Billing > Plan > Cancel. You keep access until the end of the period.",
        "billing",
        "easy",
    ),
    (
        "Can I export my data as CSV?",
        "Yes: Settings > Data > Export, then choose CSV.",
        "account",
        "moderate",
    ),
    (
        "Why was my refund only partial?",
        "Shipping fees are not refundable once an order has shipped; the rest was refunded.",
        "refund",
        "hard",
    ),
    (
        "Is there a student discount?",
        "Yes, 30% off with a valid .edu address at checkout.",
        "pricing",
        "easy",
    ),
    (
        "Two-factor codes never arrive.",
        "Check the phone number under Security; you can also switch to an authenticator app.",
        "account",
        "hard",
    ),
]
BAD = ("I'm not sure.",)
SYSTEM = "You are Acme's friendly support assistant. Answer in one or two sentences."


def jl(name, rows, raw_lines=None):
    lines = [json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r for r in rows]
    (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def sft(q, a, cat=None, diff=None, system=True):
    row = {
        "messages": ([{"role": "system", "content": SYSTEM}] if system else [])
        + [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    }
    return row


# --- OpenAI SFT valid: plain, weight, tools, image, multi-turn
valid = [sft(q, a) for q, a, *_ in QA[:9]]
valid.append(
    {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?", "weight": 0},
            {"role": "user", "content": "Where is order #4412?"},
            {"role": "assistant", "content": "It shipped yesterday.", "weight": 1},
        ]
    }
)
valid.append(
    {
        "messages": [
            {"role": "user", "content": "Where is order #4412?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order", "arguments": '{"order_id": "4412"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
            {"role": "assistant", "content": "Your order has shipped."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_order",
                    "parameters": {
                        "type": "object",
                        "properties": {"order_id": {"type": "string"}},
                        "required": ["order_id"],
                    },
                },
            }
        ],
        "parallel_tool_calls": False,
    }
)
valid.append(
    {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Is this box damaged?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/box.jpg", "detail": "low"},
                    },
                ],
            },
            {"role": "assistant", "content": "Yes, the corner is crushed; we will send a replacement."},
        ]
    }
)
jl("openai_sft_valid.jsonl", valid)
with gzip.open(OUT / "openai_sft_valid.jsonl.gz", "wt", encoding="utf-8") as fh:
    fh.write("\n".join(json.dumps(r) for r in valid) + "\n")

# --- OpenAI SFT with planted errors (line numbers in README)
errs = [sft(q, a) for q, a, *_ in QA[:4]]  # lines 1-4 valid
errs.append(
    {
        "messages": [
            {"role": "developer", "content": SYSTEM},
            {"role": "user", "content": QA[4][0]},
            {"role": "assistant", "content": QA[4][1]},
        ]
    }
)  # 5 developer
errs.append(
    {
        "messages": [
            {"role": "user", "content": QA[5][0]},
            {"role": "assistant", "content": QA[5][1], "weight": 2},
        ]
    }
)  # 6 weight 2
errs.append(
    {
        "messages": [
            {"role": "user", "content": QA[6][0], "weight": 1},
            {"role": "assistant", "content": QA[6][1]},
        ]
    }
)  # 7 weight on user
errs.append(
    {
        "messages": [
            {"role": "user", "content": "Where is order #4412?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order", "arguments": {"order_id": "4412"}},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
            {"role": "assistant", "content": "It shipped."},
        ]
    }
)  # 8 args dict
errs.append(
    {
        "messages": [
            {"role": "user", "content": "Track it"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get order!", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
            {"role": "assistant", "content": "Done."},
        ]
    }
)  # 9 tool name
errs.append(
    {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QA[7][0]}]}
)  # 10 no assistant
errs.append(
    '{"messages": [{"role": "user", "content": "Can I export my data?"}, {"role": "assistant", "content": "Yes"}'
)  # 11 broken JSON
errs.append(
    {
        "messages": [
            {"role": "user", "content": "Look"},
            {
                "role": "assistant",
                "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
            },
        ]
    }
)  # 12 image in assistant
errs.append(
    {"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "Forty-two"}]}
)  # 13 content type
errs.append(
    {
        "messages": [{"role": "user", "content": QA[10][0]}, {"role": "assistant", "content": QA[10][1]}],
        "category": "pricing",
    }
)  # 14 warning unknown key
errs.append("")  # 15 blank line (skipped)
errs.append(
    {"messages": [{"role": "user", "content": QA[11][0]}, {"role": "bot", "content": QA[11][1]}]}
)  # 16 invalid role
errs.append(["not", "an", "object"])  # 17 not an object
jl("openai_sft_errors.jsonl", errs)


# --- DPO
def dpo(q, good, bad):
    return {
        "input": {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}]},
        "preferred_output": [{"role": "assistant", "content": good}],
        "non_preferred_output": [{"role": "assistant", "content": bad}],
    }


jl("openai_dpo_valid.jsonl", [dpo(q, a, BAD[0]) for q, a, *_ in QA[:11]])
de = [dpo(q, a, BAD[0]) for q, a, *_ in QA[:5]]  # 1-5 valid
de.append(dpo(QA[5][0], QA[5][1], QA[5][1]))  # 6 identical
r = dpo(QA[6][0], QA[6][1], BAD[0])
r["preferred_output"].append({"role": "assistant", "content": "Anything else?"})
de.append(r)  # 7 two outputs
r = dpo(QA[7][0], QA[7][1], BAD[0])
r["preferred_output"][0]["weight"] = 1
de.append(r)  # 8 weight
r = dpo("What is this?", "A box.", "No idea.")
r["input"]["messages"][1]["content"] = [
    {"type": "text", "text": "What is this?"},
    {"type": "image_url", "image_url": {"url": "https://example.com/box.jpg"}},
]
de.append(r)  # 9 image
r = dpo(QA[8][0], QA[8][1], BAD[0])
r["input"]["messages"].append({"role": "assistant", "content": "Let me check."})
de.append(r)  # 10 input ends with assistant
r = dpo(QA[9][0], QA[9][1], BAD[0])
del r["non_preferred_output"]
de.append(r)  # 11 missing non_preferred
r = dpo(QA[10][0], QA[10][1], BAD[0])
r["preferred_completion"] = r.pop("preferred_output")
de.append(r)  # 12 stale key
jl("openai_dpo_errors.jsonl", de)
jl("dpo_wrong_shape.jsonl", [{"prompt": q, "chosen": a, "rejected": BAD[0]} for q, a, *_ in QA])


# --- RFT
def rft(q, label):
    return {
        "messages": [{"role": "developer", "content": "Answer yes or no."}, {"role": "user", "content": q}],
        "compliant": label,
        "explanation": "From the policy handbook.",
    }


questions = [
    "Do you have a dedicated security team?",
    "Do you store card numbers?",
    "Is data encrypted at rest?",
    "Do you sell customer data?",
    "Is there a bug bounty?",
    "Do you support SSO?",
    "Is 2FA mandatory for staff?",
    "Do you keep logs forever?",
    "Are backups tested?",
    "Do contractors see customer data?",
    "Is there an incident response plan?",
]
labels = ["yes", "no", "yes", "no", "yes", "yes", "yes", "no", "yes", "no", "yes"]
jl("openai_rft_valid.jsonl", [rft(q, l) for q, l in zip(questions, labels)])
re_ = [rft(q, l) for q, l in zip(questions[:8], labels[:8])]
r = rft(questions[8], "yes")
r["messages"][0]["role"] = "system"
re_.append(r)  # 9 system role
r = rft(questions[9], "no")
r["messages"].append({"role": "assistant", "content": "No."})
re_.append(r)  # 10 last assistant
re_.append(
    {"messages": [{"role": "user", "content": questions[10]}]}
)  # 11 no reference field (warning) -> but classified sft? keep
jl("openai_rft_errors.jsonl", re_)

# --- Alpaca (JSON array)
alp = [{"instruction": q, "input": "", "output": a} for q, a, *_ in QA[:8]]
alp += [
    {"instruction": "Classify the ticket into a category.", "input": q, "output": c}
    for q, _, c, _ in QA[8:12]
]
(OUT / "alpaca_valid.json").write_text(json.dumps(alp, indent=2, ensure_ascii=False) + "\n")
ae = [{"instruction": q, "input": "", "output": a} for q, a, *_ in QA[:9]]
ae.append({"instruction": QA[9][0], "input": ""})  # 10 missing output
ae.append(
    {"instruction": QA[10][0], "input": ["not", "a", "string"], "output": QA[10][1]}
)  # 11 input not string
ae.append({"instruction": "   ", "input": "", "output": QA[11][1]})  # 12 empty instruction
(OUT / "alpaca_errors.json").write_text(json.dumps(ae, indent=2) + "\n")
# JSON array saved with a .jsonl name
(OUT / "json_array_as_jsonl.jsonl").write_text(json.dumps(alp, ensure_ascii=False) + "\n")

# --- ShareGPT
sg = [
    {
        "id": f"sg{i}",
        "conversations": [
            {"from": "system", "value": SYSTEM},
            {"from": "human", "value": q},
            {"from": "gpt", "value": a},
        ],
    }
    for i, (q, a, *_) in enumerate(QA[:10])
]
sg.append(
    {
        "id": "sg10",
        "conversations": [
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello!"},
            {"from": "human", "value": QA[10][0]},
            {"from": "gpt", "value": QA[10][1]},
        ],
    }
)
sg.append(
    {
        "id": "sg11",
        "conversations": [
            {"from": "human", "value": "Where is order #4412?"},
            {"from": "function_call", "value": '{"name": "get_order", "arguments": {"order_id": "4412"}}'},
            {"from": "observation", "value": '{"status": "shipped"}'},
            {"from": "gpt", "value": "It has shipped."},
        ],
        "tools": '[{"name": "get_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}]',
    }
)
jl("sharegpt_valid.jsonl", sg)
se = sg[:9] + [
    {
        "id": "bad1",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "robot", "value": "Hello"}],
    },  # 10 unknown from
    {
        "id": "bad2",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value": "Anyone?"}],
    },  # 11 no gpt
    {
        "id": "bad3",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": None}],
    },  # 12 value null
    {
        "id": "bad4",
        "conversations": [
            {"from": "gpt", "value": "Welcome!"},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "How can I help?"},
        ],
    },  # 13 warning first turn
]
jl("sharegpt_errors.jsonl", se)

# --- TRL
tm = [
    {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    for q, a, *_ in QA[:11]
]
tm.append(
    {
        "messages": [
            {"role": "user", "content": "Where is order #4412?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"type": "function", "function": {"name": "get_order", "arguments": {"order_id": "4412"}}}
                ],
            },
            {"role": "tool", "name": "get_order", "content": "shipped"},
            {"role": "assistant", "content": "It shipped."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_order",
                    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
                },
            }
        ],
    }
)
jl("trl_messages_valid.jsonl", tm)
pc = [{"prompt": q, "completion": a} for q, a, *_ in QA[:6]]
pc += [
    {"prompt": [{"role": "user", "content": q}], "completion": [{"role": "assistant", "content": a}]}
    for q, a, *_ in QA[6:12]
]
jl("trl_prompt_completion_valid.jsonl", pc)
pe = [{"prompt": q, "completion": a} for q, a, *_ in QA[:9]] + [
    {"prompt": QA[9][0]},  # 10 missing completion
    {"prompt": [{"role": "user", "content": QA[10][0]}], "completion": QA[10][1]},  # 11 mixed
    {"prompt": QA[11][0], "completion": "   "},  # 12 empty completion
]
jl("trl_prompt_completion_errors.jsonl", pe)
tp = [{"prompt": q, "chosen": a, "rejected": BAD[0]} for q, a, *_ in QA[:6]]
tp += [
    {
        "chosen": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
        "rejected": [{"role": "user", "content": q}, {"role": "assistant", "content": BAD[0]}],
    }
    for q, a, *_ in QA[6:12]
]
jl("trl_preference_valid.jsonl", tp)
tpe = [{"prompt": q, "chosen": a, "rejected": BAD[0]} for q, a, *_ in QA[:9]] + [
    {"prompt": QA[9][0], "chosen": QA[9][1]},  # 10 missing rejected
    {
        "prompt": QA[10][0],
        "chosen": [{"role": "assistant", "content": QA[10][1]}],
        "rejected": BAD[0],
    },  # 11 mixed
    {"prompt": QA[11][0], "chosen": QA[11][1], "rejected": QA[11][1]},  # 12 identical (warning)
]
jl("trl_preference_errors.jsonl", tpe)


# --- HH-RLHF
def hh(q, a, b, history=()):
    head = "".join(f"\n\nHuman: {h}\n\nAssistant: {r}" for h, r in history) + f"\n\nHuman: {q}\n\nAssistant:"
    return {"chosen": f"{head} {a}", "rejected": f"{head} {b}"}


hv = [hh(q, a, BAD[0]) for q, a, *_ in QA[:10]]
hv += [
    hh(QA[10][0], QA[10][1], BAD[0], history=[("Hi", "Hello! How can I help?")]),
    hh(QA[11][0], QA[11][1], "Turn it off and on again.", history=[("Hello", "Hi there.")]),
]
jl("hh_rlhf_valid.jsonl", hv)
he = [hh(q, a, BAD[0]) for q, a, *_ in QA[:9]] + [
    {
        "chosen": "Just some text without turns",
        "rejected": "Other text",
    },  # 10 not a transcript -> classified trl-preference
    {
        "chosen": f"\n\nHuman: {QA[9][0]}\n\nAssistant: {QA[9][1]}\n\nHuman: thanks",
        "rejected": f"\n\nHuman: {QA[9][0]}\n\nAssistant: {BAD[0]}\n\nHuman: thanks",
    },  # 11 ends with human
    hh(QA[10][0], QA[10][1], QA[10][1]),  # 12 identical (warning)
]
jl("hh_rlhf_errors.jsonl", he)

# --- CSV
import csv
import io

buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(["question", "answer", "category", "difficulty", "created_at"])
for i, (q, a, c, d) in enumerate(QA):
    w.writerow([q, a, c, d, f"2026-0{1 + i % 9}-1{i % 10}T10:00:00Z"])
(OUT / "support_table.csv").write_text(buf.getvalue(), encoding="utf-8")
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(["prompt", "response", "category"])
for q, a, c, _ in QA[:9]:
    w.writerow([q, a, c])
w.writerow([QA[9][0], "", "refund"])  # row 10 empty response
buf.write('"Is there a student discount?","Yes, 30% off",pricing,extra-field\n')  # row 11 wrong field count
w.writerow(
    ["Multi-line\nquestion about 2FA?", "Use an authenticator app.", "account"]
)  # row 12 valid, embedded newline
(OUT / "csv_errors.csv").write_text(buf.getvalue(), encoding="utf-8")

# --- bad input
lines = [json.dumps(r) for r in valid]
(OUT / "truncated.jsonl").write_text(
    "\n".join(lines[:11]) + "\n" + lines[11][: len(lines[11]) // 2], encoding="utf-8"
)
(OUT / "empty.jsonl").write_bytes(b"")
(OUT / "binary.jsonl").write_bytes(bytes(range(256)) * 4)
lat = [
    sft("¿Dónde está mi pedido?", "Está en camino, llegará el miércoles."),
    *[sft(q, a) for q, a, *_ in QA[:10]],
]
(OUT / "latin1.jsonl").write_bytes(
    ("\n".join(json.dumps(r, ensure_ascii=False) for r in lat) + "\n").encode("latin-1")
)
mixed = [sft(q, a) for q, a, *_ in QA[:9]]
mixed.insert(3, {"instruction": QA[9][0], "input": "", "output": QA[9][1]})  # line 4 alpaca
mixed.insert(
    6, {"conversations": [{"from": "human", "value": QA[10][0]}, {"from": "gpt", "value": QA[10][1]}]}
)  # line 7 sharegpt
mixed.append({"prompt": QA[11][0], "chosen": QA[11][1], "rejected": BAD[0]})  # line 12 trl-preference
jl("mixed_formats.jsonl", mixed)
body = (
    "\r\n".join(json.dumps(r) for r in valid[:6])
    + "\r\n\r\n\r\n"
    + "\r\n".join(json.dumps(r) for r in valid[6:])
    + "\r\n"
)
(OUT / "bom_crlf_blank_lines.jsonl").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
table = pa.Table.from_pylist(
    [{"prompt": q, "chosen": a, "rejected": BAD[0], "category": c} for q, a, c, _ in QA]
)
pq.write_table(table, OUT / "trl_preference.parquet")

# --- TRL's other types and self-instruct seed tasks: valid files, each one style
# trl-text: SFT on every token, a support macro per row as plain text
jl(
    "trl_text_valid.jsonl",
    [{"text": f"Customer: {q}\nAgent: {a}", "category": c} for q, a, c, _ in QA],
)
# trl-kto: unpaired preference, a good reply labelled true and a weak one false (standard strings)
kto = []
for i, (q, a, *_) in enumerate(QA[:8]):
    kto.append({"prompt": q, "completion": a, "label": True})
    if i % 2 == 0:
        kto.append({"prompt": q, "completion": BAD[0], "label": False})
jl("trl_kto_valid.jsonl", kto)
# trl-prompt-only: GRPO prompts in the conversational style, with the reference a reward function reads
jl(
    "trl_prompt_only_valid.jsonl",
    [
        {
            "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
            "solution": a,
            "category": c,
        }
        for q, a, c, _ in QA
    ],
)
# self-instruct: seed tasks as in yizhongw/self-instruct's seed_tasks.jsonl (several instances per task)
seed_tasks = [
    ("reply_to_customer", "Write a short, friendly reply to the customer's message.", False, QA[:3]),
    ("explain_billing", "Explain the billing question in one sentence.", False, QA[2:4]),
    ("shipping_answer", "Answer the shipping question with the delivery facts.", False, QA[5:7]),
    ("cancel_steps", "Tell the customer how to do what they ask, step by step.", False, QA[7:9]),
]
tasks = [
    {
        "id": f"seed_task_{i}",
        "name": name,
        "instruction": instruction,
        "instances": [{"input": q, "output": a} for q, a, *_ in items],
        "is_classification": cls,
    }
    for i, (name, instruction, cls, items) in enumerate(seed_tasks)
]
tasks.append(
    {
        "id": "seed_task_4",
        "name": "ticket_category",
        "instruction": "Which team should handle this ticket: account, billing, bug or shipping?",
        "instances": [{"input": q, "output": c} for q, _, c, _ in QA[:6] if c != "refund"],
        "is_classification": True,
    }
)
tasks.append(
    {
        "id": "seed_task_5",
        "name": "student_discount",
        "instruction": "Is there a student discount, and how do I get it?",
        "instances": [{"input": "", "output": QA[10][1]}],
        "is_classification": False,
    }
)
jl("self_instruct_seed_tasks.jsonl", tasks)
print("ok")
