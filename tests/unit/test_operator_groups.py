"""The operator check reads `cognito:groups` exactly: no group name is split into others."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.api.operators import groups_of


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (["admin", "x"], {"admin", "x"}),  # a JSON list (tests, other authorizers)
        ("[admin x]", {"admin", "x"}),  # HTTP API's rendering of an array claim
        ("[admin]", {"admin"}),
        ('["admin", "x"]', {"admin", "x"}),  # a JSON array in a string
        ("admin", {"admin"}),
        ("[]", set()),
        ("", set()),
        (None, set()),
        (7, set()),
    ],
)
def test_each_form_of_the_claim_gives_its_groups(claim: Any, groups: set[str]) -> None:
    # Given / When the claim in one of the forms it arrives in / Then exactly its groups
    assert groups_of({"cognito:groups": claim}) == groups


@pytest.mark.parametrize(
    "claim",
    ["[x,admin]", "x,admin", "admin,x", "[x,admin other]", ["x,admin"], ["admin x"], '["x,admin"]', "[admins]", [7]],
)
def test_a_group_whose_name_only_contains_admin_is_not_admin(claim: Any) -> None:
    # Given a group named `x,admin` (or `admin x`, `admins`) in any form, Then the caller is not in group admin
    assert "admin" not in groups_of({"cognito:groups": claim})
