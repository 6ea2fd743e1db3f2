"""EventBridge rules whose targets are functions or state machines.

moto matches events against rule patterns, but delivers only to a few target kinds (SQS, logs,
buses): a Lambda or Step Functions target makes its PutEvents fail with NotImplementedError. So the
local cloud lets moto do the matching and does the delivering itself:

- for each target of each rule, a delivery queue is created in moto and added to the rule as an SQS
  target; moto's own `send_to_targets` puts every matching event there (pattern matching stays
  moto's, never a second matcher);
- Lambda and Step Functions targets are removed from the rules in moto (the loader normally leaves
  them out already); the real targets come from the app model;
- a schedule rule keeps no targets at all in moto: moto treats a rule without a pattern as matching
  every event on its bus, so its targets would receive every published event (and a Lambda target
  would make every PutEvents fail). The scheduler delivers to all of a schedule's targets itself;
- a relay per delivery queue takes each matched event and delivers it with the target's Input or
  InputPath. A failed delivery stays on the queue and is retried after the queue's visibility
  timeout, per target, up to MAX_DELIVERY_ATTEMPTS (EventBridge retries for up to 24 hours; locally a
  broken target should show up in the logs quickly rather than retry all day).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from localcloud.aws import arn_service
from localcloud.event_sources.background import BackgroundLoop
from localcloud.event_sources.sqs import LONG_POLL_SECONDS
from localcloud.event_sources.targets import TargetDelivery, TargetNotDelivered, target_input
from localcloud.model import EventRule, Target

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 10
DELIVERY_RETRY_SECONDS = 5
_UNDELIVERABLE_SERVICES = ("lambda", "states")
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def delivery_queue_name(rule: EventRule, index: int) -> str:
    """A stable SQS name per rule target (SQS names are short; rule names and buses may not be)."""
    digest = hashlib.sha256(f"{rule.event_bus_name}/{rule.name}/{index}".encode()).hexdigest()[:20]
    return f"localcloud-rule-{digest}"


def detach_undeliverable_targets(events: Any, rule_name: str, event_bus_name: str) -> bool:
    """Remove Lambda and Step Functions targets from a rule in moto; False if moto has no such rule."""
    try:
        targets = events.list_targets_by_rule(Rule=rule_name, EventBusName=event_bus_name)["Targets"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    ids = [t["Id"] for t in targets if arn_service(t["Arn"]) in _UNDELIVERABLE_SERVICES]
    if ids:
        events.remove_targets(Rule=rule_name, EventBusName=event_bus_name, Ids=ids)
    return True


def detach_schedule_targets(events: Any, rule_name: str) -> None:
    """Empty a schedule rule in moto of its targets, unless it also has a pattern moto must match."""
    try:
        rule = events.describe_rule(Name=rule_name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise
    if rule.get("EventPattern"):
        detach_undeliverable_targets(events, rule_name, "default")
        return
    ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule_name)["Targets"]]
    if ids:
        events.remove_targets(Rule=rule_name, Ids=ids)


def event_from_delivery(body: str, account_id: str) -> dict[str, Any]:
    """The matched event as EventBridge sends it, from the JSON moto wrote to the delivery queue.

    moto's default target input leaves out `account`; every event on the local buses is the app's own.
    """
    delivered = json.loads(body)
    delivered.setdefault("account", account_id)
    ordered = {key: delivered[key] for key in _EVENT_KEYS if key in delivered}
    ordered.update({key: value for key, value in delivered.items() if key not in ordered})
    return ordered


class RuleTargetRelay(BackgroundLoop):
    """Moves the events moto matched for one rule target from its delivery queue to the target."""

    def __init__(
        self, rule: EventRule, index: int, target: Target, *, sqs: Any, delivery: TargetDelivery, account_id: str
    ) -> None:
        super().__init__(name=f"rule-relay:{rule.name}[{index}]")
        self._rule = rule
        self._target = target
        self._sqs = sqs
        self._delivery = delivery
        self._account_id = account_id
        self._queue_name = delivery_queue_name(rule, index)
        self._queue_url = ""

    def attach(self, events: Any) -> None:
        """Create the delivery queue and add it to the rule in moto (idempotent)."""
        self._queue_url = self._sqs.create_queue(
            QueueName=self._queue_name, Attributes={"VisibilityTimeout": str(DELIVERY_RETRY_SECONDS)}
        )["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        response = events.put_targets(
            Rule=self._rule.name,
            EventBusName=self._rule.event_bus_name,
            Targets=[{"Id": self._queue_name, "Arn": queue_arn}],
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"could not attach {self._queue_name} to rule {self._rule.name}: {response}")

    def step(self) -> float:
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=LONG_POLL_SECONDS,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        for message in messages:
            self._relay(message)
        return 0

    def _relay(self, message: dict[str, Any]) -> None:
        try:
            event = event_from_delivery(message["Body"], self._account_id)
            self._delivery.deliver(self._target, target_input(self._target, event))
        except TargetNotDelivered as error:
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            target = self._target.arn
            if attempts < MAX_DELIVERY_ATTEMPTS:
                logger.warning("%s: delivery to %s failed (attempt %d): %s", self.name, target, attempts, error)
                return
            logger.error("%s: dropping an event for %s after %d attempts: %s", self.name, target, attempts, error)
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


def ensure_rule(events: Any, rule: EventRule) -> None:
    """Make sure moto holds the rule (the loader normally created it) without undeliverable targets."""
    if not detach_undeliverable_targets(events, rule.name, rule.event_bus_name):
        logger.info("rule %s was not in moto; creating it from the app model", rule.name)
        events.put_rule(Name=rule.name, EventBusName=rule.event_bus_name, EventPattern=json.dumps(rule.pattern))
