"""template.yaml's security settings: Tracer records no responses or errors (they hold secrets and personal data)."""

from __future__ import annotations

from tests.support.template import load_template


def test_tracer_captures_no_responses_and_no_errors_in_any_function() -> None:
    # Given the functions' shared environment, Then Powertools Tracer keeps responses and errors out of X-Ray
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    # And no function turns it back on for itself
    for logical_id, resource in load_template()["Resources"].items():
        own = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        assert "POWERTOOLS_TRACER_CAPTURE_RESPONSE" not in own, logical_id
        assert "POWERTOOLS_TRACER_CAPTURE_ERROR" not in own, logical_id
