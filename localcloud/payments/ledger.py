"""The sandbox's in-memory account: payment intents, payment methods, charges, refunds and events.

Every operation validates its params as Stripe does, changes state under one lock and records the events
that change causes (`payment_intent.created`, `charge.succeeded`, `payment_intent.succeeded`,
`charge.failed`, `payment_intent.payment_failed`, `payment_intent.canceled`, `refund.created`,
`charge.refunded`; and, when a test fails a refund, `charge.refund.updated`, `refund.updated`,
`refund.failed`), handing each to the event sink (webhook delivery) in the order they happened.
Two test switches act as the card networks would, later: `dispute` (the card holder disputed the charge, so
refunds are refused with Stripe's `charge_disputed`) and `fail_refund` (a refund that succeeded fails, its
amount back on the charge).
Statuses follow Stripe's: requires_payment_method → (requires_confirmation →) succeeded | canceled, and a
decline returns the intent to requires_payment_method.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import localcloud.payments.objects as objects  # the module, not the package: the package re-exports the sandbox
from localcloud.payments.cards import TEST_PAYMENT_METHODS, Card
from localcloud.payments.errors import (
    ApiError,
    invalid_request,
    parameter_missing,
    resource_missing,
    unexpected_state,
)
from localcloud.payments.ids import new_id
from localcloud.payments.intent_params import (
    CONFIRM_INTENT,
    CREATE_INTENT,
    UPDATE_INTENT,
    passthrough,
    read_amount,
    read_capture_method,
    read_currency,
    read_payment_method_types,
)
from localcloud.payments.money import format_amount
from localcloud.payments.params import (
    metadata_update,
    optional_bool,
    optional_choice,
    optional_int,
    optional_str,
    optional_str_list,
    reject_unknown,
)


@dataclass(frozen=True)
class RequestContext:
    """Where a change came from; events carry it as `request: {id, idempotency_key}`."""

    request_id: str | None = None
    idempotency_key: str | None = None


class EventSink(Protocol):
    def listeners(self, event_type: str) -> int: ...

    def publish(self, event: dict[str, Any]) -> None: ...


_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
_UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_CANCEL_INTENT = ("cancellation_reason", "expand")
_CREATE_REFUND = (
    "payment_intent",
    "charge",
    "amount",
    "reason",
    "metadata",
    "expand",
    "instructions_email",
    "refund_application_fee",
    "reverse_transfer",
)
_LIST_EVENTS = ("type", "types", "limit", "starting_after", "ending_before", "expand")
# Which id-valued fields `expand` can replace with the object, by id prefix.
_EXPANDABLE = {"latest_charge", "payment_method", "payment_intent", "charge"}


class Ledger:
    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._lock = threading.RLock()
        self._intents: dict[str, dict[str, Any]] = {}
        self._methods: dict[str, dict[str, Any]] = {}
        self._cards: dict[str, Card] = {}  # payment method id → the test card behind it
        self._charges: dict[str, dict[str, Any]] = {}
        self._refunds: dict[str, dict[str, Any]] = {}
        self._events: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # -- payment intents -------------------------------------------------------------------------------

    def create_payment_intent(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        reject_unknown(params, CREATE_INTENT)
        currency = read_currency(params)
        amount = read_amount(params, currency)
        types, automatic = read_payment_method_types(params)
        capture_method = read_capture_method(params) or "automatic_async"
        confirmation_method = optional_choice(params, "confirmation_method", ("automatic", "manual")) or "automatic"
        confirm = optional_bool(params, "confirm") or False
        metadata = metadata_update(params, {})
        description = optional_str(params, "description")
        with self._lock:
            method = self._payment_method_param(params)  # last: a test token creates a PaymentMethod
            intent = objects.payment_intent(
                amount=amount,
                currency=currency,
                metadata=metadata,
                description=description,
                payment_method_types=types,
                automatic_payment_methods=automatic,
                capture_method=capture_method,
                confirmation_method=confirmation_method,
                extras=passthrough(params),
            )
            if method is not None:
                intent["payment_method"] = method["id"]
                intent["status"] = "requires_confirmation"
            self._intents[intent["id"]] = intent
            self._emit("payment_intent.created", intent, ctx)
            if confirm:
                return self._confirm(intent, {}, ctx)
            return copy.deepcopy(intent)

    def retrieve_payment_intent(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        reject_unknown(params, ("client_secret", "expand"))
        with self._lock:
            return copy.deepcopy(self._intent(intent_id))

    def update_payment_intent(self, intent_id: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        reject_unknown(params, UPDATE_INTENT)
        with self._lock:
            intent = self._intent(intent_id)
            if intent["status"] not in _UPDATABLE:
                raise unexpected_state(
                    f"You cannot update this PaymentIntent because it has a status of {intent['status']}."
                )
            currency = read_currency(params) if "currency" in params else intent["currency"]
            amount = read_amount(params, currency) if "amount" in params else intent["amount"]
            metadata = metadata_update(params, intent["metadata"])
            description = optional_str(params, "description") if "description" in params else intent["description"]
            types = optional_str_list(params, "payment_method_types") or intent["payment_method_types"]
            method = self._payment_method_param(params)  # last: a test token creates a PaymentMethod
            intent.update(
                amount=amount,
                currency=currency,
                metadata=metadata,
                description=description,
                payment_method_types=types,
                **passthrough(params),
            )
            if method is not None:
                intent["payment_method"] = method["id"]
                intent["status"] = "requires_confirmation"
            return copy.deepcopy(intent)

    def confirm_payment_intent(self, intent_id: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        reject_unknown(params, CONFIRM_INTENT)
        with self._lock:
            return self._confirm(self._intent(intent_id), params, ctx)

    def cancel_payment_intent(self, intent_id: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        reject_unknown(params, _CANCEL_INTENT)
        reason = optional_choice(params, "cancellation_reason", _CANCELLATION_REASONS)
        with self._lock:
            intent = self._intent(intent_id)
            if intent["status"] not in _CANCELABLE:
                raise unexpected_state(
                    f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. "
                    "Only a PaymentIntent with one of the following statuses may be canceled: "
                    f"{', '.join(_CANCELABLE)}."
                )
            intent.update(status="canceled", canceled_at=objects.now(), cancellation_reason=reason)
            self._emit("payment_intent.canceled", intent, ctx)
            return copy.deepcopy(intent)

    def client_secret_matches(self, intent_id: str, client_secret: str) -> bool:
        """Raises resource_missing for an unknown intent, as Stripe answers before looking at the secret."""
        with self._lock:
            return bool(self._intent(intent_id)["client_secret"] == client_secret)

    def _confirm(self, intent: dict[str, Any], params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        status = intent["status"]
        if status == "succeeded":
            raise unexpected_state(
                "You cannot confirm this PaymentIntent because it has already succeeded after being previously "
                "confirmed."
            )
        if status not in _CONFIRMABLE:
            raise unexpected_state(
                f"You cannot confirm this PaymentIntent because it has a status of {status}. Only a PaymentIntent "
                f"with one of the following statuses may be confirmed: {', '.join(_CONFIRMABLE)}."
            )
        method = self._payment_method_param(params)
        if method is None and intent["payment_method"] is not None:
            method = self._methods[intent["payment_method"]]
        if method is None:
            raise unexpected_state(
                "You cannot confirm this PaymentIntent because it's missing a payment method. Update the "
                "PaymentIntent with a payment method and then confirm it again."
            )
        if "card" not in intent["payment_method_types"]:
            raise invalid_request(
                "The PaymentMethod provided (card) is not allowed for this PaymentIntent. Use one of "
                f"{', '.join(intent['payment_method_types'])} or update its payment_method_types.",
                param="payment_method",
                code="payment_intent_incompatible_payment_method",
            )
        intent.update(passthrough(params))
        decline = self._cards[method["id"]].decline
        charge = objects.charge(intent, method, decline)
        self._charges[charge["id"]] = charge
        if decline is None:
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                payment_method=method["id"],
                last_payment_error=None,
            )
            self._emit("charge.succeeded", charge, ctx)
            self._emit("payment_intent.succeeded", intent, ctx)
            return copy.deepcopy(intent)
        intent.update(
            status="requires_payment_method",
            latest_charge=charge["id"],
            payment_method=None,
            last_payment_error=objects.card_error(decline, charge["id"], method),
        )
        self._emit("charge.failed", charge, ctx)
        self._emit("payment_intent.payment_failed", intent, ctx)
        raise ApiError(
            402,
            "card_error",
            decline.message,
            code=decline.code,
            decline_code=decline.decline_code,
            extra={
                "charge": charge["id"],
                "payment_intent": copy.deepcopy(intent),
                "payment_method": copy.deepcopy(method),
            },
        )

    def _payment_method_param(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The `payment_method` param as an object: a test token creates a new PaymentMethod, as in Stripe."""
        token = optional_str(params, "payment_method")
        if token is None:
            return None
        card = TEST_PAYMENT_METHODS.get(token)
        if card is not None:
            method = objects.payment_method(card)
            self._methods[method["id"]] = method
            self._cards[method["id"]] = card
            return method
        if token in self._methods:
            return self._methods[token]
        raise invalid_request(
            f"No such PaymentMethod: '{token}'. The local payments sandbox knows Stripe's test tokens "
            f"({', '.join(sorted(TEST_PAYMENT_METHODS))}) and the PaymentMethods they created.",
            param="payment_method",
            code="resource_missing",
        )

    def _intent(self, intent_id: str) -> dict[str, Any]:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise resource_missing("payment_intent", intent_id, param="intent")
        return intent

    # -- refunds -----------------------------------------------------------------------------------------

    def create_refund(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        reject_unknown(params, _CREATE_REFUND)
        intent_id = optional_str(params, "payment_intent")
        charge_id = optional_str(params, "charge")
        amount = optional_int(params, "amount")
        reason = optional_choice(params, "reason", _REFUND_REASONS)
        if intent_id is None and charge_id is None:
            raise parameter_missing("payment_intent")
        with self._lock:
            charge = self._refundable_charge(intent_id, charge_id)
            if charge["disputed"]:
                raise invalid_request(
                    f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
                )
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            if remaining <= 0:
                raise invalid_request(
                    f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
                )
            if amount is None:
                amount = remaining
            if amount < 1:
                raise invalid_request(
                    "This value must be greater than or equal to 1.", param="amount", code="parameter_invalid_integer"
                )
            if amount > remaining:
                raise invalid_request(
                    f"Refund amount ({format_amount(amount, charge['currency'])}) is greater than unrefunded amount "
                    f"on charge ({format_amount(remaining, charge['currency'])})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = objects.refund(charge, amount, reason, metadata_update(params, {}))
            self._refunds[refund["id"]] = refund
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
            self._emit("refund.created", refund, ctx)
            self._emit("charge.refunded", charge, ctx, previous_attributes=previous)
            return copy.deepcopy(refund)

    def _refundable_charge(self, intent_id: str | None, charge_id: str | None) -> dict[str, Any]:
        if charge_id is not None:
            charge = self._charges.get(charge_id)
            if charge is None:
                raise resource_missing("charge", charge_id, param="charge", status=400)
            if intent_id is not None and charge["payment_intent"] != intent_id:
                raise invalid_request(
                    f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", param="charge"
                )
            if charge["status"] != "succeeded":
                raise invalid_request(f"Charge {charge_id} has not succeeded and cannot be refunded.", param="charge")
            return charge
        assert intent_id is not None
        intent = self._intents.get(intent_id)
        if intent is None:
            raise resource_missing("payment_intent", intent_id, param="payment_intent", status=400)
        if intent["status"] != "succeeded":
            raise invalid_request(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        return self._charges[intent["latest_charge"]]

    def dispute(self, intent_id: str) -> dict[str, Any]:
        """Test switch: the card holder disputed the intent's charge; refunds of it are refused from now on."""
        with self._lock:
            intent = self._intent(intent_id)
            charge = self._charges.get(str(intent.get("latest_charge")))
            if charge is None or charge["status"] != "succeeded":
                raise invalid_request(f"PaymentIntent {intent_id} has no successful charge to dispute.")
            charge["disputed"] = True
            return copy.deepcopy(charge)

    def fail_refund(self, refund_id: str, failure_reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """Test switch: a refund that succeeded fails (the card was closed, ...), as Stripe reports some days
        later: its amount goes back on the charge, and `charge.refund.updated`, `refund.updated` and
        `refund.failed` are sent. Failing a failed refund again changes nothing and sends nothing."""
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise resource_missing("refund", refund_id, param="refund")
            if refund["status"] == "failed":
                return copy.deepcopy(refund)
            if refund["status"] != "succeeded":
                raise invalid_request(f"Refund {refund_id} is {refund['status']}: only a succeeded refund can fail.")
            charge = self._charges[refund["charge"]]
            previous = {"status": refund["status"], "failure_reason": None}
            refund["status"] = "failed"
            refund["failure_reason"] = failure_reason
            refund["failure_balance_transaction"] = new_id("txn")
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            ctx = RequestContext()
            for event_type in ("charge.refund.updated", "refund.updated", "refund.failed"):
                self._emit(event_type, refund, ctx, previous_attributes=previous)
            return copy.deepcopy(refund)

    def refunds_of(self, intent_id: str) -> list[dict[str, Any]]:
        """Every refund of the intent's charges, oldest first (for tests: how many times was it refunded?)."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._refunds.values() if r["payment_intent"] == intent_id]

    def retrieve_refund(self, refund_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._retrieve(self._refunds, "refund", refund_id, params)

    # -- other objects -----------------------------------------------------------------------------------

    def retrieve_charge(self, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._retrieve(self._charges, "charge", charge_id, params)

    def retrieve_payment_method(self, method_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._retrieve(self._methods, "PaymentMethod", method_id, params)

    def retrieve_event(self, event_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._retrieve(self._events, "event", event_id, params)

    def _retrieve(
        self, store: dict[str, dict[str, Any]], kind: str, object_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        reject_unknown(params, ("expand",))
        with self._lock:
            found = store.get(object_id)
            if found is None:
                raise resource_missing(kind, object_id, param="id")
            return copy.deepcopy(found)

    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, as Stripe lists them; `type` may end in `.*`."""
        reject_unknown(params, _LIST_EVENTS)
        limit = optional_int(params, "limit") or 10
        if not 1 <= limit <= 100:
            raise invalid_request("limit must be between 1 and 100.", param="limit")
        wanted = optional_str_list(params, "types") or ([t] if (t := optional_str(params, "type")) else None)
        starting_after = optional_str(params, "starting_after")
        ending_before = optional_str(params, "ending_before")
        with self._lock:
            newest_first = [
                e for e in reversed(self._events.values()) if wanted is None or _type_matches(e["type"], wanted)
            ]
            if ending_before is not None:
                # The page just newer than the cursor, still listed newest first.
                candidates = newest_first[: _index_of(newest_first, ending_before, "ending_before")]
                page = candidates[-limit:]
            else:
                start = 0 if starting_after is None else _index_of(newest_first, starting_after, "starting_after") + 1
                candidates = newest_first[start:]
                page = candidates[:limit]
            return objects.list_of(copy.deepcopy(page), "/v1/events", has_more=len(candidates) > limit)

    def expand(self, obj: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        """`obj` with the named id fields replaced by the objects they name, as `expand[]` asks."""
        with self._lock:
            for name in fields:
                value = obj.get(name) if name in _EXPANDABLE else _NOT_EXPANDABLE
                if value is _NOT_EXPANDABLE:
                    raise invalid_request(f"This property cannot be expanded ({name}).", param="expand")
                if isinstance(value, str):
                    found = self._by_id(value)
                    if found is not None:
                        obj[name] = copy.deepcopy(found)
            return obj

    def _by_id(self, object_id: str) -> dict[str, Any] | None:
        for store in (self._intents, self._charges, self._methods, self._refunds):
            if object_id in store:
                return store[object_id]
        return None

    # -- events ------------------------------------------------------------------------------------------

    def _emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        ctx: RequestContext,
        *,
        previous_attributes: dict[str, Any] | None = None,
    ) -> None:
        event = objects.event(
            event_type,
            obj,
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            pending_webhooks=self._sink.listeners(event_type),
            previous_attributes=previous_attributes,
        )
        self._events[event["id"]] = event
        self._sink.publish(copy.deepcopy(event))


_NOT_EXPANDABLE = object()


def _type_matches(event_type: str, wanted: list[str]) -> bool:
    return any(event_type == w or (w.endswith(".*") and event_type.startswith(w[:-1])) for w in wanted)


def _index_of(events: list[dict[str, Any]], cursor: str, param: str) -> int:
    for index, event in enumerate(events):
        if event["id"] == cursor:
            return index
    raise resource_missing("event", cursor, param=param, status=400)
