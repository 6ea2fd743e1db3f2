"""Send a message to a queue, a topic, a bus or a log group named by ARN, through the edge.

Used for the targets the local cloud delivers itself (schedule targets of every kind) and for the
on-failure destinations of stream mappings. Queue URLs are looked up once per ARN.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from localcloud.aws import arn_service, queue_url_from_arn
from localcloud.event_sources.clients import EdgeClients


class UnsupportedDestination(Exception):
    """An ARN whose service cannot receive a message here."""


class Destinations:
    def __init__(self, clients: EdgeClients) -> None:
        self._clients = clients
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, arn: str, message: str) -> None:
        """SQS SendMessage, SNS Publish, EventBridge PutEvents (message: an event) or a log event."""
        service = arn_service(arn)
        if service == "sqs":
            self._clients.sqs.send_message(QueueUrl=self.queue_url(arn), MessageBody=message)
        elif service == "sns":
            self._clients.sns.publish(TopicArn=arn, Message=message)
        elif service == "events":
            self._put_event(arn, message)
        elif service == "logs":
            self._put_log_event(arn, message)
        else:
            raise UnsupportedDestination(f"cannot send to {arn}")

    def queue_url(self, queue_arn: str) -> str:
        with self._lock:
            if queue_arn not in self._queue_urls:
                self._queue_urls[queue_arn] = queue_url_from_arn(self._clients.sqs, queue_arn)
            return self._queue_urls[queue_arn]

    def _put_event(self, bus_arn: str, message: str) -> None:
        try:
            event = json.loads(message)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not {"source", "detail-type"} <= event.keys():
            raise UnsupportedDestination(f"only an event can be put on {bus_arn}, got {message[:200]!r}")
        detail = event.get("detail", {})
        response = self._clients.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": detail if isinstance(detail, str) else json.dumps(detail),
                    "Resources": list(event.get("resources", [])),
                    "EventBusName": bus_arn,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise UnsupportedDestination(f"{bus_arn} refused the event: {response['Entries']}")

    def _put_log_event(self, log_group_arn: str, message: str) -> None:
        # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        group = log_group_arn.split(":log-group:", 1)[-1].removesuffix(":*")
        stream = str(uuid.uuid4())
        logs = self._clients.logs
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
        )
