"""Route selection of an API Gateway HTTP API: which route a method and path reach.

API Gateway picks the most specific match: literal path segments beat `{param}` segments, which
beat a greedy `{proxy+}` tail, compared from the left; on equal paths a route for the request's
method beats `ANY`; `$default` catches what nothing else matches. Path parameter values are
URL-decoded, as API Gateway passes them to the integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import unquote

from localcloud.model import HttpRoute

DEFAULT_ROUTE_KEY = "$default"


class _SegmentKind(IntEnum):
    # Lower sorts first: more specific.
    LITERAL = 0
    PARAMETER = 1
    GREEDY = 2


@dataclass(frozen=True)
class _Segment:
    kind: _SegmentKind
    text: str  # the literal, or the parameter's name


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    route_key: str  # "GET /products/{productId}", "ANY /{proxy+}" or "$default"
    path_parameters: dict[str, str]


def route_method(route: HttpRoute) -> str:
    """The route's method, upper-cased; OpenAPI's `x-amazon-apigateway-any-method` is ANY."""
    method = route.method.upper()
    return "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method


def route_key(route: HttpRoute) -> str:
    if is_default_route(route):
        return DEFAULT_ROUTE_KEY
    return f"{route_method(route)} {route.path}"


def is_default_route(route: HttpRoute) -> bool:
    return route.path == DEFAULT_ROUTE_KEY


def _parse_path(path: str) -> tuple[_Segment, ...]:
    if not path.startswith("/"):
        raise ValueError(f"route path must start with '/': {path!r}")
    segments: list[_Segment] = []
    parts = path.split("/")[1:]
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                if index != len(parts) - 1:
                    raise ValueError(f"a greedy path variable must end the path: {path!r}")
                segments.append(_Segment(_SegmentKind.GREEDY, name[:-1]))
            else:
                segments.append(_Segment(_SegmentKind.PARAMETER, name))
        else:
            segments.append(_Segment(_SegmentKind.LITERAL, part))
    return tuple(segments)


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    method: str
    segments: tuple[_Segment, ...]

    def match(self, raw_segments: list[str]) -> dict[str, str] | None:
        parameters: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind is _SegmentKind.GREEDY:
                rest = raw_segments[index:]
                # A greedy variable needs at least one non-empty segment: `/{proxy+}` does not match `/`.
                if not rest or not any(rest):
                    return None
                parameters[segment.text] = unquote("/".join(rest))
                return parameters
            if index >= len(raw_segments):
                return None
            value = unquote(raw_segments[index])
            if segment.kind is _SegmentKind.LITERAL:
                if value != segment.text:
                    return None
            elif not value:
                return None
            else:
                parameters[segment.text] = value
        if len(raw_segments) != len(self.segments):
            return None
        return parameters

    def rank(self) -> tuple[tuple[int, ...], int]:
        """Sort key: more specific paths first, then a named method before ANY."""
        return tuple(int(s.kind) for s in self.segments), 1 if self.method == "ANY" else 0


class RouteTable:
    """The routes of one HTTP API, ready to match requests."""

    def __init__(self, routes: tuple[HttpRoute, ...] | list[HttpRoute]) -> None:
        self._default: HttpRoute | None = None
        compiled: list[_CompiledRoute] = []
        for route in routes:
            if is_default_route(route):
                self._default = route
            else:
                compiled.append(_CompiledRoute(route, route_method(route), _parse_path(route.path)))
        self._routes = sorted(compiled, key=_CompiledRoute.rank)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route a request reaches, or None (API Gateway's 404 "Not Found")."""
        method = method.upper()
        raw_segments = raw_path.split("/")[1:] if raw_path.startswith("/") else raw_path.split("/")
        for candidate in self._routes:
            if candidate.method not in (method, "ANY"):
                continue
            parameters = candidate.match(raw_segments)
            if parameters is not None:
                return RouteMatch(candidate.route, route_key(candidate.route), parameters)
        if self._default is not None:
            return RouteMatch(self._default, DEFAULT_ROUTE_KEY, {})
        return None
