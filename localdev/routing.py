"""The routes of template.yaml, matched the way API Gateway HTTP APIs match them.

The local server and the tests route requests with this, so local routing cannot drift from the
deployed API.
"""

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from localdev import ROOT

TEMPLATE = ROOT / "template.yaml"


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (`!Ref`, `!Sub`, …) as plain values."""


def _intrinsic(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as file:
        template: dict[str, Any] = yaml.load(file, Loader=_TemplateLoader)  # noqa: S506 - safe loader subclass
    return template


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, … or ANY
    path: str  # /api/{user_id}/tasks, /{proxy+}, …
    function: str  # the logical id in template.yaml
    handler: str  # module.attribute of the Lambda handler

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal paths over parameters, parameters over greedy ones, and
        explicit methods over ANY."""
        return (self.path.count("+}"), self.path.count("{"), self.method == "ANY")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method, "ANY"):
            return None
        found = self._pattern.match(path)
        return found.groupdict() if found else None


def load_handlers(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Each function's logical id in the template → its handler (module.attribute), in id order."""
    resources = (template or load_template())["Resources"]
    functions = {
        name: r["Properties"]["Handler"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"
    }
    return dict(sorted(functions.items()))


def load_routes(template: dict[str, Any] | None = None) -> list[Route]:
    """Every HttpApi event of every function in the template, most specific first."""
    template = template or load_template()
    routes = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes.append(Route(props["Method"].upper(), props["Path"], name, resource["Properties"]["Handler"]))
    return sorted(routes, key=lambda route: route.specificity)


def resolve(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick for this request, with its path parameters."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


@dataclass(frozen=True)
class Cors:
    """The HTTP API's CorsConfiguration, with the template's parameter defaults filled in."""

    allow_origins: list[str]
    allow_headers: list[str]
    allow_methods: list[str]
    expose_headers: list[str]
    max_age: int


def load_cors(template: dict[str, Any] | None = None) -> Cors:
    template = template or load_template()
    config = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    parameters = template.get("Parameters", {})

    def values(key: str) -> list[str]:
        value = config.get(key, [])
        if isinstance(value, str) and value in parameters:  # !Ref NAME: the parameter's default
            value = str(parameters[value]["Default"]).split(",")
        return [str(item).strip() for item in value]

    return Cors(
        values("AllowOrigins"),
        values("AllowHeaders"),
        values("AllowMethods"),
        values("ExposeHeaders"),
        int(config.get("MaxAge", 0)),
    )
