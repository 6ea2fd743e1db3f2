"""The order CloudFormation creates resources in: every resource after those it refers to or DependsOn."""

from __future__ import annotations

from typing import Any

from localcloud.template.errors import LocalCloudTemplateError, location_of
from localcloud.template.intrinsics import referenced_names


def dependencies(resources: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """For each resource, the resources it needs first (template order kept for determinism)."""
    needs: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        for name in depends_on:
            if name not in resources:
                raise LocalCloudTemplateError(
                    f"DependsOn names {name!r}, which is no resource",
                    location=location_of("Resources", logical_id, "DependsOn"),
                )
        referenced = referenced_names({k: v for k, v in resource.items() if k != "DependsOn"})
        needs[logical_id] = [
            name for name in resources if name != logical_id and (name in depends_on or name in referenced)
        ]
    return needs


def deployment_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """A topological order of `resources`; a dependency cycle is an error naming the resources in it."""
    needs = dependencies(resources)
    ordered: list[str] = []
    done: set[str] = set()
    pending = list(resources)
    while pending:
        ready = [name for name in pending if all(dep in done for dep in needs[name])]
        if not ready:
            cycle = ", ".join(sorted(_in_cycles(pending, needs)))
            raise LocalCloudTemplateError(f"circular dependency between {cycle}", location="Resources")
        for name in ready:
            ordered.append(name)
            done.add(name)
        pending = [name for name in pending if name not in done]
    return ordered


def _in_cycles(pending: list[str], needs: dict[str, list[str]]) -> set[str]:
    """The pending resources that are part of a cycle, not merely waiting behind one."""
    remaining = set(pending)
    while True:
        needed = {dep for name in remaining for dep in needs[name] if dep in remaining}
        trimmed = remaining & needed
        if trimmed == remaining:
            return remaining
        remaining = trimmed
