"""HTTP APIs (routes, JWT authorizers, CORS, throttling) from the resolved AWS::ApiGatewayV2 resources.

SAM writes an `AWS::Serverless::HttpApi` and its functions' `HttpApi` events as one OpenAPI `Body`
with `x-amazon-apigateway-*` extensions; hand-written APIs use Route/Integration/Authorizer
resources. Both are read, so whatever the template declares is what the router serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.model import HttpApi, HttpRoute, JwtAuthorizer, LambdaFunction, find_function
from localcloud.template.errors import LocalCloudTemplateError, location_of, number_at

_OPENAPI_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_CORS_KEYS = {
    "allowOrigins": "AllowOrigins",
    "allowHeaders": "AllowHeaders",
    "allowMethods": "AllowMethods",
    "exposeHeaders": "ExposeHeaders",
    "maxAge": "MaxAge",
    "allowCredentials": "AllowCredentials",
}


def function_of_integration(uri: Any, functions: Mapping[str, LambdaFunction], where: tuple[str | int, ...]) -> str:
    """The logical id of the function behind a Lambda proxy integration URI (or a plain function ARN)."""
    text = str(uri)
    arn = text.split("/functions/", 1)[1].rsplit("/invocations", 1)[0] if "/functions/" in text else text
    function = find_function(functions.values(), arn)
    if function is None:
        raise LocalCloudTemplateError(
            f"integration {text} does not target a Lambda function of this template", location=location_of(*where)
        )
    return function.logical_id


def build_http_apis(
    resources: Mapping[str, dict[str, Any]], refs: Mapping[str, Any], functions: Mapping[str, LambdaFunction]
) -> list[HttpApi]:
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::ApiGateway::RestApi":
            raise LocalCloudTemplateError(
                "REST APIs (SAM `Api` events) are not supported by the local cloud; use HttpApi events",
                location=location_of("Resources", logical_id),
            )
    apis = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        props = resource["Properties"]
        if str(props.get("ProtocolType", "HTTP")).upper() != "HTTP" and "Body" not in props:
            raise LocalCloudTemplateError(
                "WebSocket APIs are not supported locally",
                location=location_of("Resources", logical_id, "Properties", "ProtocolType"),
            )
        api_id = str(refs[logical_id])
        if "Body" in props:
            routes, authorizers, cors = _from_openapi(logical_id, props["Body"], functions)
        else:
            routes, authorizers = _from_resources(logical_id, api_id, props, resources, refs, functions)
            cors = props.get("CorsConfiguration")
        stage_id, stage = _stage_of(api_id, resources)
        apis.append(
            HttpApi(
                logical_id=logical_id,
                routes=tuple(routes),
                authorizers=authorizers,
                cors=cors,
                throttling=_throttling(stage_id, stage, {_route_key(route) for route in routes}),
                api_id=api_id,
                stage=str(stage.get("StageName", "$default")),
            )
        )
    return apis


def _stage_of(api_id: str, resources: Mapping[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The logical id and properties of the API's stage ("" and {} when it has none)."""
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::ApiGatewayV2::Stage" and str(resource["Properties"].get("ApiId")) == api_id:
            return logical_id, dict(resource["Properties"])
    return "", {}


def _throttling(stage_id: str, stage: Mapping[str, Any], route_keys: set[str]) -> dict[str, Any] | None:
    """The stage's DefaultRouteSettings, with its RouteSettings (by route key) under "RouteSettings"; every
    throttling limit checked to be a number and every route key to name a route of the API, as API Gateway
    checks them on deployment (the router enforces them)."""
    base = ("Resources", stage_id, "Properties")
    default = _route_settings(stage.get("DefaultRouteSettings"), (*base, "DefaultRouteSettings"))
    per_route = stage.get("RouteSettings")
    if per_route and not isinstance(per_route, Mapping):
        raise LocalCloudTemplateError("RouteSettings must be a mapping", location=location_of(*base, "RouteSettings"))
    routes = {}
    for key, settings in (per_route or {}).items():
        where = (*base, "RouteSettings", str(key))
        if str(key) not in route_keys:
            raise LocalCloudTemplateError(
                f"RouteSettings names {key!r}, which is not a route of this API", location=location_of(*where)
            )
        routes[str(key)] = _route_settings(settings, where)
    if not default and not routes:
        return None
    return {**default, "RouteSettings": routes} if routes else default


def _route_key(route: HttpRoute) -> str:
    """API Gateway's route key ("POST /checkouts", "$default"), as RouteSettings names routes."""
    return route.path if route.path == "$default" else f"{route.method.upper()} {route.path}"


def _route_settings(settings: Any, where: tuple[str, ...]) -> dict[str, Any]:
    if not settings:
        return {}
    if not isinstance(settings, Mapping):
        raise LocalCloudTemplateError(f"{where[-1]} must be a mapping", location=location_of(*where))
    for name in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
        if settings.get(name) is not None:
            number_at(settings[name], (*where, name))
    return dict(settings)


# ---------------------------------------------------------------------- OpenAPI body (SAM HttpApi)
def _from_openapi(
    logical_id: str, body: dict[str, Any], functions: Mapping[str, LambdaFunction]
) -> tuple[list[HttpRoute], dict[str, JwtAuthorizer], dict[str, Any] | None]:
    base = ("Resources", logical_id, "Properties", "Body")
    authorizers = _openapi_authorizers(body, base)
    default_security = body.get("security")
    routes = []
    for path, operations in (body.get("paths") or {}).items():
        for key, operation in (operations or {}).items():
            if key == "x-amazon-apigateway-any-method":
                method = "ANY"
            elif key in _OPENAPI_METHODS:
                method = key.upper()
            else:
                continue
            where = (*base, "paths", path, key)
            integration = operation.get("x-amazon-apigateway-integration")
            if not integration:
                raise LocalCloudTemplateError(
                    "the route has no x-amazon-apigateway-integration", location=location_of(*where)
                )
            if str(integration.get("type", "")).lower() != "aws_proxy":
                raise LocalCloudTemplateError(
                    "only Lambda proxy integrations run locally", location=location_of(*where)
                )
            if str(integration.get("payloadFormatVersion", "2.0")) != "2.0":
                raise LocalCloudTemplateError(
                    "only payload format 2.0 is supported locally",
                    location=location_of(*where, "x-amazon-apigateway-integration"),
                )
            function = function_of_integration(
                integration.get("uri"), functions, (*where, "x-amazon-apigateway-integration", "uri")
            )
            security = operation.get("security", default_security)
            authorizer, scopes = _route_authorizer(security, authorizers, where)
            routes.append(
                HttpRoute(
                    method=method,
                    path="$default" if path == "/$default" else path,
                    function=function,
                    authorizer=authorizer,
                    authorization_scopes=scopes,
                )
            )
    cors_extension = body.get("x-amazon-apigateway-cors")
    cors = (
        {_CORS_KEYS.get(k, str(k)): v for k, v in cors_extension.items()} if isinstance(cors_extension, dict) else None
    )
    return routes, authorizers, cors


def _openapi_authorizers(body: dict[str, Any], base: tuple[str, ...]) -> dict[str, JwtAuthorizer]:
    authorizers = {}
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        config = scheme.get("x-amazon-apigateway-authorizer") or {}
        if str(config.get("type", "")).lower() != "jwt":
            continue
        jwt = config.get("jwtConfiguration") or {}
        identity_source = config.get("identitySource", "$request.header.Authorization")
        if isinstance(identity_source, list):
            identity_source = identity_source[0] if identity_source else "$request.header.Authorization"
        authorizers[name] = _jwt_authorizer(
            name,
            identity_source,
            jwt.get("issuer"),
            jwt.get("audience"),
            (*base, "components", "securitySchemes", name),
        )
    return authorizers


def _route_authorizer(
    security: Any, authorizers: Mapping[str, JwtAuthorizer], where: tuple[str, ...]
) -> tuple[str | None, tuple[str, ...]]:
    if not security:
        return None, ()
    requirement = security[0] if isinstance(security, list) else security
    if not requirement:
        return None, ()
    (name, scopes), *_ = requirement.items()
    if name not in authorizers:
        raise LocalCloudTemplateError(
            f"authorizer {name!r} is not a JWT authorizer; only JWT authorizers run locally",
            location=location_of(*where, "security"),
        )
    return name, tuple(scopes or ())


def _jwt_authorizer(
    name: str, identity_source: Any, issuer: Any, audience: Any, where: tuple[str, ...]
) -> JwtAuthorizer:
    if not issuer:
        raise LocalCloudTemplateError("a JWT authorizer needs an issuer", location=location_of(*where))
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    return JwtAuthorizer(
        name=name, identity_source=str(identity_source), issuer=str(issuer), audience=tuple(str(a) for a in audiences)
    )


# ---------------------------------------------------------------------- Route / Integration / Authorizer resources
def _from_resources(
    logical_id: str,
    api_id: str,
    props: dict[str, Any],
    resources: Mapping[str, dict[str, Any]],
    refs: Mapping[str, Any],
    functions: Mapping[str, LambdaFunction],
) -> tuple[list[HttpRoute], dict[str, JwtAuthorizer]]:
    mine = {lid: r for lid, r in resources.items() if str(r["Properties"].get("ApiId")) == api_id}
    integrations: dict[str, str] = {}
    authorizers_by_id: dict[str, JwtAuthorizer] = {}
    refs_by_logical = {lid: refs.get(lid) for lid in mine}
    for lid, resource in mine.items():
        rprops, where = resource["Properties"], ("Resources", lid, "Properties")
        if resource["Type"] == "AWS::ApiGatewayV2::Integration":
            integrations[str(refs_by_logical[lid])] = function_of_integration(
                rprops.get("IntegrationUri"), functions, (*where, "IntegrationUri")
            )
        elif resource["Type"] == "AWS::ApiGatewayV2::Authorizer":
            if str(rprops.get("AuthorizerType", "")).upper() != "JWT":
                raise LocalCloudTemplateError(
                    "only JWT authorizers run locally", location=location_of(*where, "AuthorizerType")
                )
            jwt = rprops.get("JwtConfiguration") or {}
            sources = rprops.get("IdentitySource") or ["$request.header.Authorization"]
            name = str(rprops.get("Name", lid))
            authorizers_by_id[str(refs_by_logical[lid])] = _jwt_authorizer(
                name, sources[0], jwt.get("Issuer"), jwt.get("Audience"), where
            )

    routes = []
    if props.get("Target"):
        # Quick create: the API itself names one function and a route key.
        function = function_of_integration(
            props["Target"], functions, ("Resources", logical_id, "Properties", "Target")
        )
        routes.append(_route(str(props.get("RouteKey", "$default")), function, None, ()))
    for lid, resource in mine.items():
        if resource["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        rprops, where = resource["Properties"], ("Resources", lid, "Properties")
        target = str(rprops.get("Target", ""))
        integration_id = target.removeprefix("integrations/")
        if integration_id not in integrations:
            raise LocalCloudTemplateError(
                "the route's Target is not an integration of this API", location=location_of(*where, "Target")
            )
        authorizer = None
        if str(rprops.get("AuthorizationType", "NONE")).upper() == "JWT":
            found = authorizers_by_id.get(str(rprops.get("AuthorizerId")))
            if found is None:
                raise LocalCloudTemplateError(
                    "AuthorizerId names no JWT authorizer of this API", location=location_of(*where, "AuthorizerId")
                )
            authorizer = found.name
        routes.append(
            _route(
                str(rprops.get("RouteKey")),
                integrations[integration_id],
                authorizer,
                tuple(rprops.get("AuthorizationScopes") or ()),
            )
        )
    return routes, {a.name: a for a in authorizers_by_id.values()}


def _route(route_key: str, function: str, authorizer: str | None, scopes: tuple[str, ...]) -> HttpRoute:
    if route_key == "$default":
        return HttpRoute(
            method="ANY", path="$default", function=function, authorizer=authorizer, authorization_scopes=scopes
        )
    method, _, path = route_key.partition(" ")
    return HttpRoute(
        method=method.upper(), path=path, function=function, authorizer=authorizer, authorization_scopes=scopes
    )
