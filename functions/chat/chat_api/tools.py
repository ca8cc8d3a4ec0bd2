"""The task tools as the chat model sees them: Gemini function declarations, and calls that arrive
as JSON strings. The tools themselves are the layer's (`todo_common.tools`), shared with MCP."""

import json
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from todo_common.tools import TOOLS, ToolError


def gemini_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The argument model's JSON schema, reduced to what Gemini accepts: type, properties, required,
    enum, description, items (no titles, defaults, bounds, anyOf or additionalProperties)."""

    def reduce(node: dict[str, Any]) -> dict[str, Any]:
        if "anyOf" in node:  # Optional[X]: X itself, keeping the description
            [option] = [o for o in node["anyOf"] if o.get("type") != "null"]
            return reduce({**option, **({"description": node["description"]} if "description" in node else {})})
        reduced: dict[str, Any] = {key: node[key] for key in ("type", "description", "enum", "required") if key in node}
        if "properties" in node:
            reduced["properties"] = {name: reduce(prop) for name, prop in node["properties"].items()}
        if "items" in node:
            reduced["items"] = reduce(node["items"])
        return reduced

    return reduce(model.model_json_schema())


SCHEMAS = [
    {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": gemini_schema(tool.arguments)},
    }
    for tool in TOOLS.values()
]


def run_tool(session: Session, user_id: str, name: str, raw_arguments: str | None) -> tuple[dict[str, Any], Any]:
    """Run one tool call for this user: (the arguments as parsed, the result for the model).

    Whatever goes wrong (bad JSON, invalid arguments, unknown tool, a task that is not the user's)
    becomes a short `{"error": ...}` result, never an exception: the conversation goes on.
    """
    try:
        arguments = json.loads(raw_arguments or "{}")
    except ValueError:
        return {}, {"error": "the arguments are not valid JSON"}
    if not isinstance(arguments, dict):
        return {}, {"error": "the arguments must be a JSON object"}
    tool = TOOLS.get(name)
    if tool is None:
        return arguments, {"error": f"unknown tool {name!r}; the tools are {', '.join(TOOLS)}"}
    try:
        return arguments, tool.call(session, user_id, arguments).model_dump(mode="json")
    except ToolError as exc:
        return arguments, {"error": str(exc)}
