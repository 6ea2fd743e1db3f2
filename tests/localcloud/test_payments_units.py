"""The sandbox's parts on their own: form decoding, idempotency keys, signatures, retry policy, faults."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from stripe._encode import _api_encode

from localcloud.payments.delivery import RetryPolicy, payment_intent_of
from localcloud.payments.errors import ApiError
from localcloud.payments.forms import decode_form, fingerprint
from localcloud.payments.idempotency import IdempotencyKeys, InUse, Mismatch, Proceed, Replay, SavedResponse
from localcloud.payments.money import format_amount
from localcloud.payments.params import metadata_update
from localcloud.payments.signature import signature_header
from localcloud.payments.switches import FaultInjector, FaultSpec

pytestmark = pytest.mark.localcloud

_names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)
_values = st.text(min_size=0, max_size=20)
_params = st.dictionaries(
    _names,
    st.one_of(
        _values,
        st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=4),
        st.dictionaries(_names, _values, min_size=1, max_size=4),
    ),
    max_size=6,
)


@given(_params)
def test_decode_form_inverts_stripe_pythons_encoding(params: dict[str, Any]) -> None:
    # Given params as the backend passes them to the stripe package
    # When stripe encodes them for the wire and the sandbox decodes the body
    body = urlencode(list(_api_encode(params)))
    decoded = decode_form(parse_qsl(body, keep_blank_values=True))

    # Then the sandbox sees exactly what was sent
    assert decoded == params


def test_decode_form_reads_curl_style_arrays_and_keeps_numeric_metadata_keys() -> None:
    # Given / When a body with `expand[]` entries and a metadata key that looks like an index
    decoded = decode_form([("expand[]", "latest_charge"), ("expand[]", "payment_method"), ("metadata[0]", "zero")])

    # Then `[]` appends to a list, and metadata stays a hash
    assert decoded == {"expand": ["latest_charge", "payment_method"], "metadata": {"0": "zero"}}


def test_decode_form_rejects_a_key_that_is_both_a_value_and_a_hash() -> None:
    # Given / When / Then a conflicting body is a 400
    with pytest.raises(ApiError) as raised:
        decode_form([("metadata", "x"), ("metadata[a]", "y")])
    assert raised.value.status == 400


def test_fingerprint_ignores_parameter_order_but_not_endpoint() -> None:
    # Given the same params in two orders, and the same params on another path
    one = fingerprint("post", "/v1/refunds", {"amount": "1", "payment_intent": "pi_1"})
    two = fingerprint("POST", "/v1/refunds", {"payment_intent": "pi_1", "amount": "1"})
    other = fingerprint("POST", "/v1/payment_intents", {"payment_intent": "pi_1", "amount": "1"})

    # Then order does not matter and the endpoint does
    assert one == two
    assert one != other


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idempotency_keys_proceed_then_in_use_then_replay_or_mismatch() -> None:
    # Given a key store
    keys = IdempotencyKeys(clock=_Clock())
    saved = SavedResponse(200, b"{}", "req_1")

    # When a key is begun, begun again while running, completed, then begun with same and other params
    first = keys.begin("k", "params-a")
    while_running = keys.begin("k", "params-a")
    keys.complete("k", saved)
    replay = keys.begin("k", "params-a")
    other = keys.begin("k", "params-b")

    # Then Stripe's four outcomes come out in that order
    assert isinstance(first, Proceed)
    assert isinstance(while_running, InUse)
    assert replay == Replay(saved)
    assert isinstance(other, Mismatch)


def test_idempotency_keys_expire_after_24_hours_and_abandoned_keys_at_once() -> None:
    # Given one completed key and one abandoned key
    clock = _Clock()
    keys = IdempotencyKeys(clock=clock)
    keys.begin("done", "p")
    keys.complete("done", SavedResponse(200, b"{}", "req_1"))
    keys.begin("failed", "p")
    keys.abandon("failed")

    # When the abandoned key is reused, and a day and a second pass
    reused = keys.begin("failed", "other-params")
    clock.now += 24 * 60 * 60 - 1
    still_kept = keys.begin("done", "p")
    clock.now += 2
    expired = keys.begin("done", "other-params")

    # Then the abandoned key runs again, the completed one replays for 24 h and is then forgotten
    assert isinstance(reused, Proceed)
    assert isinstance(still_kept, Replay)
    assert isinstance(expired, Proceed)


def test_signature_header_is_what_stripe_computes_and_verifies() -> None:
    # Given a payload, a secret and a timestamp
    payload, secret, timestamp = '{"id": "evt_1", "object": "event"}', "whsec_abc", 1_700_000_000

    # When the sandbox signs it
    header = signature_header(payload, secret, timestamp)

    # Then it equals stripe's own header and passes stripe's verification (tolerance off for the fixed time)
    assert header == stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    assert stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)


def test_retry_delays_double_up_to_a_cap_and_follow_the_time_scale() -> None:
    # Given Stripe-like backoff at normal speed and a hundred times faster
    normal, fast = RetryPolicy(), RetryPolicy(time_scale=0.01)

    # When / Then the delays double from one second, stop at a minute, and scale
    assert [normal.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert fast.delay(3) == pytest.approx(0.04)
    assert not normal.gives_up(elapsed=3600, failed_attempts=10)
    assert normal.gives_up(elapsed=3 * 24 * 60 * 60, failed_attempts=10)
    assert fast.gives_up(elapsed=3 * 24 * 60 * 60 * 0.01, failed_attempts=10)


def test_faults_match_by_path_prefix_and_method_and_are_spent_by_count() -> None:
    # Given a fault for two POSTs under /v1/payment_intents
    faults = FaultInjector((FaultSpec(kind="error", count=2, path="/v1/payment_intents", method="POST"),))

    # When requests of several kinds arrive
    other_path = faults.take("POST", "/v1/refunds")
    other_method = faults.take("GET", "/v1/payment_intents/pi_1")
    first = faults.take("POST", "/v1/payment_intents")
    second = faults.take("POST", "/v1/payment_intents/pi_1/confirm")
    third = faults.take("POST", "/v1/payment_intents")

    # Then only the two matching requests meet it
    assert (other_path, other_method, third) == (None, None, None)
    assert first is not None
    assert second is not None
    assert faults.active() == []


def test_clearing_faults_ends_holds_in_progress() -> None:
    # Given a request holding on an open-ended timeout fault
    faults = FaultInjector((FaultSpec(kind="timeout", count=None),))
    taken = faults.take("POST", "/v1/payment_intents")
    assert taken is not None
    _, released = taken

    # When the faults are cleared
    faults.clear()

    # Then the hold is over and no fault remains
    assert released.is_set()
    assert faults.take("POST", "/v1/payment_intents") is None


def test_metadata_update_merges_unsets_and_limits() -> None:
    # Given current metadata
    current = {"order_id": "o1", "note": "x"}

    # When / Then keys merge, "" unsets one key, metadata="" unsets all, and over-long keys are refused
    assert metadata_update({"metadata": {"a": "1", "note": ""}}, current) == {"order_id": "o1", "a": "1"}
    assert metadata_update({"metadata": ""}, current) == {}
    assert metadata_update({}, current) == current
    with pytest.raises(ApiError):
        metadata_update({"metadata": {"k" * 41: "v"}}, current)


def test_events_group_by_their_payment_intent() -> None:
    # Given events about an intent, its charge, and something else
    def event(obj: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"object": obj}}

    # When / Then intent and charge events belong to the intent; others to nothing
    assert payment_intent_of(event({"object": "payment_intent", "id": "pi_1"})) == "pi_1"
    assert payment_intent_of(event({"object": "charge", "id": "ch_1", "payment_intent": "pi_1"})) == "pi_1"
    assert payment_intent_of(event({"object": "webhook_endpoint", "id": "we_1"})) is None


@pytest.mark.parametrize(
    ("amount", "currency", "text"), [(1050, "usd", "10.50 USD"), (5, "eur", "0.05 EUR"), (500, "jpy", "500 JPY")]
)
def test_format_amount_respects_zero_decimal_currencies(amount: int, currency: str, text: str) -> None:
    # Given / When / Then messages print money in the currency's major unit
    assert format_amount(amount, currency) == text
