"""The browser's commands as function tools: schemas, tool calls read into commands, and back.

The tool table is generated from the one command table (:data:`webqa.commands.SPECS`): one tool
per command, except that ``scroll_down`` and ``scroll_up`` are one ``scroll`` tool and ``End``
is two (``answer`` and ``refuse``). Argument types, enums and required lists come from each
command's argument type; the words the model reads (descriptions) live in
``prompts/tools.toml``. A tool call is read by :func:`parse_tool_call` and checked by the same
:func:`webqa.commands.validate` as a text command, so both protocols accept the same arguments;
anything that does not fit the schema is a :class:`~webqa.errors.FormatError` with a message
that says what was wrong.

Used by the ``tools`` protocol (:mod:`webqa.policies.tools`), by ``webqa mcp`` and by the export
of ``tools`` traces to the tool-call chat format (:func:`tool_call_examples`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import prompts
from .commands import (
    END_REASONS,
    MAX_ARG_CHARS,
    SPECS,
    ArgType,
    Command,
    Kind,
    clip,
    parse,
    validate,
)
from .errors import ConfigError, FormatError

if TYPE_CHECKING:
    from .trace import TraceFile

__all__ = [
    "Param",
    "ToolSpec",
    "TOOLS",
    "REFUSALS",
    "tool_schemas",
    "tool_names",
    "describe",
    "param_description",
    "input_schema",
    "parse_tool_call",
    "tool_call_for",
    "tools_system",
    "failed_call_text",
    "command_for_action",
    "tool_call_examples",
    "tools_message",
    "MAX_ARGUMENTS_CHARS",
    "FAILED_CALL_PREFIX",
]

#: Longest arguments text read: past this the call is refused before any JSON is parsed (JSON
#: escapes may take six characters per character, so a legal argument stays well inside).
MAX_ARGUMENTS_CHARS = 8 * MAX_ARG_CHARS

#: How a rejected tool call is written as the step's action: this prefix and the error on the
#: first line, the calls as sent on the second (one JSON line). No command starts with it, so
#: the text parser rejects it too, and shows the error as what it could not read.
FAILED_CALL_PREFIX = "Rejected tool call: "

#: The reasons ``refuse`` takes (``answer`` is its own tool).
REFUSALS = tuple(r for r in END_REASONS if r != "answer")

# The tool and parameter name for each command kind (None: the command has no argument).
_TOOL_OF: dict[Kind, tuple[str, str | None]] = {
    "search": ("search", "query"),
    "click": ("click", "link"),
    "open": ("open", "url"),
    "find": ("find", "text"),
    "quote": ("quote", "text"),
    "unquote": ("unquote", "n"),
    "scroll_down": ("scroll", "screens"),
    "scroll_up": ("scroll", "screens"),
    "top": ("top", None),
    "back": ("back", None),
    "end": ("answer", None),
}


@dataclass(frozen=True)
class Param:
    """One argument of a tool: its JSON type and, for a closed set, the values allowed."""

    name: str
    type: str  # "string" or "integer"
    enum: tuple[str | int, ...] = ()
    required: bool = True
    default: str | int | None = None


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, the command kinds it issues, and its parameters."""

    name: str
    kinds: tuple[Kind, ...]
    params: tuple[Param, ...]


def _param(name: str, arg: ArgType) -> Param:
    if arg in ("id",):
        return Param(name, "integer")
    if arg == "count":
        return Param(name, "integer", (1, 2, 3), required=False, default=1)
    return Param(name, "string")


def _build() -> tuple[ToolSpec, ...]:
    tools: dict[str, ToolSpec] = {}
    for spec in SPECS:
        name, param = _TOOL_OF[spec.kind]
        if name in tools:  # the second scroll direction
            old = tools[name]
            tools[name] = ToolSpec(name, (*old.kinds, spec.kind), old.params)
            continue
        params: tuple[Param, ...] = ()
        if spec.kind in ("scroll_down", "scroll_up"):
            params = (Param("direction", "string", ("down", "up")), _param("screens", spec.arg))
        elif param is not None:
            params = (_param(param, spec.arg),)
        tools[name] = ToolSpec(name, (spec.kind,), params)
        if spec.kind == "end":
            tools["refuse"] = ToolSpec("refuse", ("end",), (Param("reason", "string", REFUSALS),))
    return tuple(tools.values())


#: Every tool, in the command table's order.
TOOLS: tuple[ToolSpec, ...] = _build()
_BY_NAME = {tool.name: tool for tool in TOOLS}


def tool_names() -> list[str]:
    """The tools' names, in order."""
    return [tool.name for tool in TOOLS]


def _table() -> dict[str, Any]:
    return prompts.table("tools.toml")


def tools_message(key: str, **fields: Any) -> str:
    """The message ``key`` of ``prompts/tools.toml``'s ``[messages]`` with ``fields`` filled."""
    return prompts.message_of("tools.toml", key, section="messages", **fields)


def describe(name: str) -> str:
    """The description of tool ``name`` (``prompts/tools.toml``)."""
    try:
        return str(_table()[name]["description"])
    except KeyError as exc:
        raise ConfigError(f"tools.toml: no description for the tool {name!r}") from exc


def param_description(tool: str, param: str) -> str:
    """The description of ``tool``'s parameter ``param`` (``prompts/tools.toml``; "" if none)."""
    return str(_table().get(tool, {}).get("params", {}).get(param, ""))


def param_schema(tool: str, param: Param) -> dict[str, Any]:
    """The JSON schema of one parameter, with its description."""
    schema: dict[str, Any] = {"type": param.type}
    if param.enum:
        schema["enum"] = list(param.enum)
    elif param.type == "integer":
        schema["minimum"] = 0
    else:
        schema["minLength"], schema["maxLength"] = 1, MAX_ARG_CHARS
    if param.default is not None:
        schema["default"] = param.default
    if described := param_description(tool, param.name):
        schema["description"] = described
    return schema


def input_schema(tool: ToolSpec) -> dict[str, Any]:
    """The JSON schema of ``tool``'s arguments object."""
    return {
        "type": "object",
        "properties": {p.name: param_schema(tool.name, p) for p in tool.params},
        "required": [p.name for p in tool.params if p.required],
        "additionalProperties": False,
    }


def tool_schemas() -> list[dict[str, Any]]:
    """Every tool as an OpenAI function tool (``{"type": "function", "function": ...}``)."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": describe(t.name),
                "parameters": input_schema(t),
            },
        }
        for t in TOOLS
    ]


def tools_system(**limits: Any) -> str:
    """The system prompt of the ``tools`` protocol (``prompts/tools_system.j2``)."""
    values = {"max_quotes": 10, "max_quote_chars": 1500, **limits}
    return prompts.render("tools_system.j2", **values).strip()


# -- reading a call ------------------------------------------------------------------------------


def _arguments(name: str, arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return arguments
    if len(arguments) > MAX_ARGUMENTS_CHARS:
        raise FormatError(
            tools_message("too_large", name=name, chars=len(arguments), limit=MAX_ARGUMENTS_CHARS)
        )
    if not arguments.strip():
        return {}  # some servers send "" for a call without arguments
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError) as exc:
        raise FormatError(tools_message("bad_json", name=name, why=clip(str(exc), 60))) from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(
            tools_message("bad_json", name=name, why=f"got a JSON {type(value).__name__}")
        )
    return value


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return clip(text, 40)


_EXPECTED = {"integer": "a whole number", "string": "a string"}


def _check(tool: ToolSpec, param: Param, value: Any) -> str:
    """``value`` as the text the command takes, or FormatError when it fails the schema."""
    where = {"param": param.name, "name": tool.name}
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FormatError(
            tools_message("wrong_type", expected=_EXPECTED[param.type], got=_shown(value), **where)
        )
    if param.type == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        # Models often send a number as a string ("3"): read it as the text parser would.
        text = str(value).strip()
        if not text.isdigit():  # a fraction, a negative number or words
            raise FormatError(
                tools_message(
                    "wrong_type", expected=_EXPECTED["integer"], got=_shown(value), **where
                )
            )
    else:
        text = str(value)
        if not text.strip():
            raise FormatError(tools_message("missing", name=tool.name, param=param.name))
    if param.enum and text.strip().lower() not in [str(v) for v in param.enum]:
        raise FormatError(
            tools_message(
                "not_allowed", got=_shown(value), allowed=", ".join(map(str, param.enum)), **where
            )
        )
    return text.strip().lower() if param.enum else text


def parse_tool_call(name: str, arguments: str | dict[str, Any] | None) -> Command:
    """The command a tool call asks for; :class:`FormatError` with a clear message if the tool
    is unknown or the arguments fail its schema (or the command's own checks)."""
    tool = _BY_NAME.get(name)
    if tool is None:
        raise FormatError(
            tools_message("unknown_tool", name=clip(str(name), 40), tools=", ".join(tool_names()))
        )
    args = _arguments(name, arguments)
    known = {p.name for p in tool.params}
    for key in args:
        if key not in known:
            raise FormatError(
                tools_message(
                    "unexpected",
                    name=name,
                    param=clip(str(key), 40),
                    params=", ".join(sorted(known)) or "no arguments",
                )
            )
    values: dict[str, str] = {}
    for param in tool.params:
        if param.name not in args or args[param.name] is None:
            if param.required:
                raise FormatError(tools_message("missing", name=name, param=param.name))
            values[param.name] = str(param.default)
            continue
        values[param.name] = _check(tool, param, args[param.name])
    if tool.name == "scroll":
        kind: Kind = "scroll_down" if values["direction"] == "down" else "scroll_up"
        return validate(kind, values["screens"])
    if tool.name == "answer":
        return validate("end", "answer")
    if tool.name == "refuse":
        return validate("end", values["reason"])
    return validate(tool.kinds[0], next(iter(values.values()), ""))


def tool_call_for(command: Command) -> tuple[str, dict[str, Any]]:
    """The tool call that issues ``command``: its tool name and arguments (the inverse of
    :func:`parse_tool_call`)."""
    kind, arg = command.kind, command.arg
    if kind == "end":
        return ("answer", {}) if arg == "answer" else ("refuse", {"reason": arg})
    if kind in ("scroll_down", "scroll_up"):
        return "scroll", {
            "direction": "down" if kind == "scroll_down" else "up",
            "screens": int(arg or 1),
        }
    name, param = _TOOL_OF[kind]
    if param is None:
        return name, {}
    return name, {param: int(arg) if command.spec.arg == "id" else arg}


# -- a step's action text -------------------------------------------------------------------------


def failed_call_text(
    error: str, calls: list[tuple[str, str]] | None = None, content: str = ""
) -> str:
    """The action text of a rejected reply: :data:`FAILED_CALL_PREFIX` and the error on one
    line, then the calls (clipped) and the reply's text as one JSON line, so a trace keeps what
    was sent and :func:`command_for_action` gives back the same error."""
    record = {
        "calls": [{"name": clip(n, 60), "arguments": clip(a, 400)} for n, a in calls or []],
        "content": clip(content, 200),
    }
    return (
        FAILED_CALL_PREFIX + " ".join(error.split()) + "\n" + json.dumps(record, ensure_ascii=False)
    )


def command_for_action(text: str) -> Command | FormatError:
    """The command a recorded ``tools`` step's action stands for, or the error it got.

    A valid call is recorded as the command's canonical text, a rejected one as
    :func:`failed_call_text`; replaying a ``tools`` trace through this function reproduces its
    observations exactly, including the messages of rejected calls.
    """
    if text.startswith(FAILED_CALL_PREFIX):
        return FormatError(text.splitlines()[0][len(FAILED_CALL_PREFIX) :])
    try:
        return parse(text)
    except FormatError as exc:
        return exc


# -- export ----------------------------------------------------------------------------------------


def tool_call_examples(trace: TraceFile) -> list[dict[str, Any]]:
    """Chat fine-tuning rows for a ``tools`` trace, in the OpenAI tool-call format.

    One row per step whose call was valid (a demonstration's mistakes are not labels): the
    ``tools`` protocol's system prompt, the observation as the user message, the assistant's
    call in ``tool_calls``, and the ``tool`` message with what the browser answered; each row
    carries the ``tools`` list. Answer rows are the same as the text protocol's.
    """
    system, tools = tools_system(), tool_schemas()
    rows: list[dict[str, Any]] = []
    for event in trace.steps:
        text = event.get("command")
        if not isinstance(text, str) or not text or event.get("error"):
            continue
        try:
            name, args = tool_call_for(parse(text))
        except FormatError:
            continue
        call_id = f"call_{event.get('n', len(rows) + 1)}"
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": str(event.get("observation", ""))},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": call_id,
                                "type": "function",
                                "function": {
                                    "name": name,
                                    "arguments": json.dumps(args, ensure_ascii=False),
                                },
                            }
                        ],
                    },
                    {
                        "role": "tool",
                        "tool_call_id": call_id,
                        "content": str(event.get("result", "")),
                    },
                ],
                "tools": tools,
            }
        )
    return rows
