"""Session items of the commerce table (layout in keys.py) and the repository that creates them.

A session item holds only the SHA-256 hash of its token, never the token. `expiresAt` is what the code
checks; `ttl` (the same instant, epoch seconds) lets DynamoDB delete the item eventually.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import session_key
from commerce.domain.clock import parse_rfc3339, rfc3339
from commerce.domain.sessions.models import Session

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SESSION_PK_PREFIX = "SESSION#"


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def session_item(session: Session) -> dict[str, Any]:
    return {
        **session_key(session.session_id),
        "tokenHash": session.token_hash,
        "customerId": session.customer_id,
        "createdAt": rfc3339(session.created_at),
        "expiresAt": rfc3339(session.expires_at),
        "ttl": epoch_seconds(session.expires_at),
    }


def session_from_item(item: dict[str, Any]) -> Session:
    return Session(
        session_id=str(item["PK"]).removeprefix(SESSION_PK_PREFIX),
        token_hash=str(item["tokenHash"]),
        created_at=parse_rfc3339(str(item["createdAt"])),
        expires_at=parse_rfc3339(str(item["expiresAt"])),
        customer_id=str(item["customerId"]) if item.get("customerId") else None,
    )


def session_from_attrs(attrs: dict[str, Any]) -> Session:
    return session_from_item(from_attrs(attrs))


def extend_expiry_update(table_name: str, session: Session, expires_at: datetime) -> dict[str, Any]:
    """An Update (for UpdateItem or a transaction) pushing the expiry, only while the token hash is the one read."""
    return {
        "TableName": table_name,
        "Key": to_attrs(session_key(session.session_id)),
        "UpdateExpression": "SET expiresAt = :expiresAt, #ttl = :ttl",
        "ConditionExpression": "tokenHash = :tokenHash",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": to_attrs(
            {
                ":expiresAt": rfc3339(expires_at),
                ":ttl": epoch_seconds(expires_at),
                ":tokenHash": session.token_hash,
            }
        ),
    }


def bind_customer_update(table_name: str, session: Session, customer_id: str, expires_at: datetime) -> dict[str, Any]:
    """An Update binding the session to a customer: only once, and only while the token hash is the one read."""
    update = extend_expiry_update(table_name, session, expires_at)
    update["UpdateExpression"] += ", customerId = :customerId"
    update["ConditionExpression"] = "tokenHash = :tokenHash AND attribute_not_exists(customerId)"
    update["ExpressionAttributeValues"][":customerId"] = {"S": customer_id}
    return update


class DynamoSessionRepository:
    def __init__(self, table_name: str, client: Callable[[], DynamoDBClient] = dynamodb_client) -> None:
        self._table_name = table_name
        self._client = client

    def get(self, session_id: str) -> Session | None:
        """The stored session, or None: a `SessionReader` (strongly consistent, as the cart store's read was)."""
        response = self._client().get_item(
            TableName=self._table_name, Key=to_attrs(session_key(session_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return session_from_attrs(item) if item else None

    def delete(self, session: Session) -> None:
        """Revoke: delete the session item while its token hash is the one read (a no-op once it is gone)."""
        client = self._client()
        try:
            client.delete_item(
                TableName=self._table_name,
                Key=to_attrs(session_key(session.session_id)),
                ConditionExpression="tokenHash = :tokenHash",
                ExpressionAttributeValues=to_attrs({":tokenHash": session.token_hash}),
            )
        except client.exceptions.ConditionalCheckFailedException:
            return  # already deleted (a concurrent revoke, or its TTL): revoked either way

    def create(self, session: Session) -> None:
        # 128 random bits never collide in practice; the condition makes sure a collision could not
        # silently take over someone else's session.
        self._client().put_item(
            TableName=self._table_name,
            Item=to_attrs(session_item(session)),
            ConditionExpression="attribute_not_exists(PK)",
        )
