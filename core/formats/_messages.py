"""Validation of OpenAI-style chat messages, shared by every format that holds them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from core.formats._base import RowContext, type_name

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_IMAGES = 10
KEYS_BY_ROLE = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "refusal", "tool_calls", "function_call", "weight", "audio"},
    "tool": {"role", "content", "tool_call_id"},
    "function": {"role", "content", "name"},
}
_IMAGE_DETAILS = ("auto", "low", "high")
_NOT_PLAIN = frozenset({"tool", "function"})  # they need more than role and content


@dataclass(frozen=True)
class MessageRules:
    """What a format allows in its messages."""

    roles: frozenset[str]
    role_fixes: tuple[tuple[str, str, str], ...] = ()  # (role, code, fix)
    weight: bool = True
    images: bool = True
    arguments_must_be_string: bool = True
    strict_keys: bool = True
    empty_content: bool = True  # off for preference sides: check_reply reports them as empty_response


SFT_RULES = MessageRules(
    roles=frozenset({"system", "user", "assistant", "tool", "function"}),
    role_fixes=(("developer", "developer_role_not_allowed", 'rename the role to "system"'),),
)
DPO_RULES = MessageRules(
    roles=frozenset({"system", "user", "assistant", "tool", "function"}),
    role_fixes=(("developer", "developer_role_not_allowed", 'rename the role to "system"'),),
    weight=False,
    images=False,
)
RFT_RULES = MessageRules(
    roles=frozenset({"developer", "user", "assistant", "tool"}),
    role_fixes=(
        ("system", "system_role_not_allowed", 'rename the role to "developer" (RFT has no system role)'),
    ),
)
TRL_RULES = MessageRules(
    roles=frozenset({"system", "developer", "user", "assistant", "tool"}),
    arguments_must_be_string=False,
    strict_keys=False,
)
# The replies of a preference pair: an empty one is reported once, by check_reply.
TRL_REPLY_RULES = replace(TRL_RULES, empty_content=False)
DPO_REPLY_RULES = replace(DPO_RULES, empty_content=False)


def check_messages(messages: Any, ctx: RowContext, path: str, rules: MessageRules) -> bool:
    """Check a list of chat messages; return False when it is not a usable list of objects."""
    if messages is None:
        ctx.error(path, "missing_messages", f"the row has no `{path}` list")
        return False
    if not isinstance(messages, list):
        ctx.error(
            path, "messages_not_list", f"`{path}` must be an array of messages, got {type_name(messages)}"
        )
        return False
    if not messages:
        ctx.error(path, "empty_messages", f"`{path}` is empty: at least one message is needed")
        return False
    usable = True
    images = 0
    call_ids: set[str] = set()
    plain = rules.roles - _NOT_PLAIN
    for index, message in enumerate(messages):
        if _is_plain(message, plain):
            continue  # the common {"role", "content": "text"} message: nothing to report
        field = f"{path}[{index}]"
        if not isinstance(message, dict):
            ctx.error(field, "message_not_object", f"{field} must be an object, got {type_name(message)}")
            usable = False
            continue
        images += check_message(message, ctx, field, rules, call_ids)
    if images > MAX_IMAGES:
        ctx.error(
            path, "too_many_images", f"{images} images in one example; at most {MAX_IMAGES} are allowed"
        )
    return usable


def _is_plain(message: Any, roles: frozenset[str]) -> bool:
    if type(message) is not dict or len(message) != 2:
        return False
    content = message.get("content")
    return type(content) is str and message.get("role") in roles and bool(content) and not content.isspace()


def check_message(
    message: Mapping[str, Any], ctx: RowContext, field: str, rules: MessageRules, call_ids: set[str]
) -> int:
    """Check one message; return the number of images it holds."""
    role: Any = message.get("role")
    if not _check_role(role, ctx, field, rules):
        return 0
    if rules.strict_keys:
        _check_keys(message, role, ctx, field)
    images = _check_content(message, role, ctx, field, rules)
    _check_weight(message, role, ctx, field, rules)
    if message.get("tool_calls") is not None:
        _check_tool_calls(message["tool_calls"], ctx, f"{field}.tool_calls", rules, call_ids)
    if role == "tool" and rules.arguments_must_be_string:
        _check_tool_reply(message, ctx, field, call_ids)
    if role == "function":
        ctx.warn(
            f"{field}.role", "deprecated_function_role", "the `function` role is deprecated", "use `tool`"
        )
    return images


def _check_role(role: Any, ctx: RowContext, field: str, rules: MessageRules) -> bool:
    if role is None:
        ctx.error(f"{field}.role", "missing_role", f"{field} has no `role`")
        return False
    for bad_role, code, fix in rules.role_fixes:
        if role == bad_role:
            ctx.error(f"{field}.role", code, f"role `{role}` is not allowed in this format", fix)
            return False
    if role not in rules.roles:
        allowed = ", ".join(sorted(rules.roles))
        ctx.error(f"{field}.role", "invalid_role", f"role {role!r} is not one of: {allowed}")
        return False
    return True


def _check_keys(message: Mapping[str, Any], role: str, ctx: RowContext, field: str) -> None:
    allowed = KEYS_BY_ROLE.get(role, set())
    for key, value in message.items():
        if key not in allowed and value is not None:  # null keys: a Parquet / Arrow schema union
            fix = "move `weight` to assistant messages or remove it" if key == "weight" else "remove the key"
            if key == "weight":
                continue  # reported by _check_weight
            ctx.warn(
                f"{field}.{key}", "unknown_message_key", f"key `{key}` is not part of a {role} message", fix
            )


def _check_content(
    message: Mapping[str, Any], role: str, ctx: RowContext, field: str, rules: MessageRules
) -> int:
    content = message.get("content")
    if content is None:
        _check_null_content(message, role, ctx, field)
        return 0
    if isinstance(content, str):
        if rules.empty_content and not content.strip() and not message.get("tool_calls"):
            ctx.warn(f"{field}.content", "empty_content", f"{field} has empty content")
        return 0
    if not isinstance(content, list):
        ctx.error(
            f"{field}.content",
            "invalid_content_type",
            f"content must be a string or an array of parts, got {type_name(content)}",
        )
        return 0
    if not content:
        ctx.error(f"{field}.content", "empty_content_parts", "content is an empty array of parts")
        return 0
    return sum(_check_part(part, role, ctx, f"{field}.content[{i}]", rules) for i, part in enumerate(content))


def _check_null_content(message: Mapping[str, Any], role: str, ctx: RowContext, field: str) -> None:
    if role == "assistant" and (
        message.get("tool_calls") or message.get("function_call") or message.get("refusal")
    ):
        return
    if "content" not in message:
        ctx.error(f"{field}.content", "missing_content", f"{field} ({role}) has no `content`")
    else:
        ctx.error(
            f"{field}.content",
            "missing_content",
            f"{field} ({role}) has null content; only an assistant message with tool_calls may",
        )


def _check_part(part: Any, role: str, ctx: RowContext, field: str, rules: MessageRules) -> int:
    if not isinstance(part, dict):
        ctx.error(field, "invalid_content_part", f"a content part must be an object, got {type_name(part)}")
        return 0
    kind = part.get("type")
    if kind == "text":
        if not isinstance(part.get("text"), str):
            ctx.error(f"{field}.text", "invalid_content_part", "a text part needs a string `text`")
        return 0
    if kind == "refusal" and role == "assistant":
        return 0
    if kind == "image_url":
        return _check_image(part, role, ctx, field, rules)
    if kind in ("input_audio", "file", "audio"):
        ctx.error(field, "unsupported_content_part", f"`{kind}` parts are not supported for fine-tuning")
        return 0
    ctx.error(field, "invalid_content_part", f"unknown content part type {kind!r} (use text or image_url)")
    return 0


def _check_image(part: Mapping[str, Any], role: str, ctx: RowContext, field: str, rules: MessageRules) -> int:
    if not rules.images:
        ctx.error(field, "image_not_allowed", "this format takes text only: images are not allowed")
        return 1
    if role != "user":
        ctx.error(field, "image_not_in_user", f"images are allowed only in user messages, not in {role}")
        return 1
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
        ctx.error(
            f"{field}.image_url.url",
            "invalid_image_url",
            "image_url.url must be an http(s) or data:image URL",
        )
    detail = image.get("detail") if isinstance(image, dict) else None
    if detail is not None and detail not in _IMAGE_DETAILS:
        ctx.error(
            f"{field}.image_url.detail",
            "invalid_image_detail",
            f"detail must be auto, low or high, got {detail!r}",
        )
    return 1


def _check_weight(
    message: Mapping[str, Any], role: str, ctx: RowContext, field: str, rules: MessageRules
) -> None:
    if message.get("weight") is None:
        return
    weight = message["weight"]
    if not rules.weight:
        ctx.error(
            f"{field}.weight", "weight_not_allowed", "`weight` is not allowed in this format", "remove it"
        )
    elif role != "assistant":
        ctx.error(
            f"{field}.weight",
            "weight_on_non_assistant",
            f"`weight` is allowed only on assistant messages, not on {role}",
            "remove the key",
        )
    elif isinstance(weight, bool) or weight not in (0, 1):
        ctx.error(
            f"{field}.weight", "weight_not_binary", f"weight must be the integer 0 or 1, got {weight!r}"
        )


def _check_tool_calls(
    calls: Any, ctx: RowContext, field: str, rules: MessageRules, call_ids: set[str]
) -> None:
    if not isinstance(calls, list) or not calls:
        ctx.error(
            field, "invalid_tool_calls", f"tool_calls must be a non-empty array, got {type_name(calls)}"
        )
        return
    for index, call in enumerate(calls):
        path = f"{field}[{index}]"
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            ctx.error(
                path,
                "invalid_tool_call",
                'a tool call needs {id, type: "function", function: {name, arguments}}',
            )
            continue
        if isinstance(call.get("id"), str):
            call_ids.add(call["id"])
        elif rules.arguments_must_be_string:
            ctx.error(f"{path}.id", "tool_call_missing_id", "the tool call has no string `id`")
        if rules.arguments_must_be_string and call.get("type", "function") != "function":
            ctx.error(
                f"{path}.type", "invalid_tool_call", f'type must be "function", got {call.get("type")!r}'
            )
        _check_function(call["function"], ctx, f"{path}.function", rules)


def _check_function(function: Mapping[str, Any], ctx: RowContext, field: str, rules: MessageRules) -> None:
    check_tool_name(function.get("name"), ctx, f"{field}.name")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            json.loads(arguments)
        except json.JSONDecodeError:
            ctx.error(
                f"{field}.arguments", "arguments_invalid_json", "arguments is a string but not valid JSON"
            )
    elif not rules.arguments_must_be_string and isinstance(arguments, dict):
        return
    else:
        dumped = json.dumps(arguments, ensure_ascii=False)
        ctx.error(
            f"{field}.arguments",
            "arguments_not_string",
            f"arguments must be a JSON-encoded string, got {type_name(arguments)}",
            f"use json.dumps(arguments): {dumped[:200]!r}",
        )


def check_tool_name(name: Any, ctx: RowContext, field: str) -> None:
    """Check a function name: letters, digits, ``_`` and ``-``, at most 64 characters."""
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        ctx.error(
            field,
            "invalid_tool_name",
            f"tool name {name!r} must match [a-zA-Z0-9_-] and be 1 to 64 characters",
        )


def _check_tool_reply(message: Mapping[str, Any], ctx: RowContext, field: str, call_ids: set[str]) -> None:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str):
        ctx.error(
            f"{field}.tool_call_id", "missing_tool_call_id", "a tool message needs a string `tool_call_id`"
        )
    elif call_ids and call_id not in call_ids:
        ctx.warn(f"{field}.tool_call_id", "unknown_tool_call_id", f"no earlier tool call has id {call_id!r}")


def check_tools(tools: Any, ctx: RowContext, field: str = "tools") -> None:
    """Check top-level tool definitions ``[{type: function, function: {name, parameters?}}]``."""
    if tools is None:
        return
    if not isinstance(tools, list):
        ctx.error(field, "invalid_tools", f"tools must be an array, got {type_name(tools)}")
        return
    for index, tool in enumerate(tools):
        path = f"{field}[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            ctx.error(
                path, "invalid_tools", 'a tool must be {type: "function", function: {name, parameters?}}'
            )
            continue
        check_tool_name(function.get("name"), ctx, f"{path}.function.name")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            ctx.error(
                f"{path}.function.parameters",
                "invalid_tool_parameters",
                "parameters must be a JSON schema object",
            )


def is_empty_reply(message: Mapping[str, Any]) -> bool:
    """True for a message with no text and no tool call (``"Assistant: "`` then nothing)."""
    if message.get("tool_calls") or message.get("function_call") or message.get("refusal"):
        return False
    content = message.get("content")
    if isinstance(content, list):
        return not any(isinstance(p, Mapping) and str(p.get("text") or "").strip() for p in content)
    return not isinstance(content, str) or not content.strip()


def check_reply(side: list[Any], field: str, ctx: RowContext) -> None:
    """The one rule for a preference side, in every format: an assistant reply, and not an empty one.

    No assistant message is an error (``missing_assistant``); an empty last reply is a warning
    (``empty_response``): the row is kept, as the pair is still a pair, but it teaches the model
    to prefer (or avoid) saying nothing.
    """
    replies = [m for m in side if isinstance(m, Mapping) and m.get("role") == "assistant"]
    if not replies:
        ctx.error(field, "missing_assistant", f"`{field}` has no assistant reply")
    elif is_empty_reply(replies[-1]):
        ctx.warn(field, "empty_response", f"`{field}` is an empty reply")


def has_images(messages: list[Any]) -> bool:
    """True when any message holds an image part."""
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content
        ):
            return True
    return False


def roles_of(messages: list[Any]) -> list[Any]:
    """Return the role of every message (``None`` where a message is not an object)."""
    return [m.get("role") if isinstance(m, dict) else None for m in messages]
