"""moto's model instances are recorded weakly behind the edge: an answer's item copies do not stay in memory."""

from __future__ import annotations

import gc
import uuid

import boto3
import pytest
from moto.dynamodb.models.dynamo_type import Item

from localcloud.edge import EdgeApp
from localcloud.moto_instances import WeakInstances
from localcloud.server import BackgroundServer

pytestmark = pytest.mark.localcloud


def _items_alive_in(table: str) -> int:
    gc.collect()
    tracked = Item.__dict__["instances_tracked"]
    return sum(1 for item in tracked if str(item.hash_key.value).startswith(table))


def test_reads_leave_no_item_copies_behind_but_stored_items_stay_tracked() -> None:
    # Given a table of 50 items behind the edge
    with BackgroundServer(EdgeApp(), name="edge-test") as edge:
        client = boto3.client("dynamodb", endpoint_url=edge.url, region_name="us-east-1")
        table = f"t{uuid.uuid4().hex[:8]}"
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(50):
            client.put_item(TableName=table, Item={"PK": {"S": f"{table}-{i}"}, "n": {"N": str(i)}})
        stored = _items_alive_in(table)

        # When every item is read 20 times over (scans and gets copy each item they answer with)
        for _ in range(20):
            assert len(client.scan(TableName=table)["Items"]) == 50
            client.get_item(TableName=table, Key={"PK": {"S": f"{table}-7"}})

        # Then only the stored items are still alive and tracked: none of the 1,020 copies
        assert isinstance(Item.__dict__["instances_tracked"], WeakInstances)
        assert stored == 50
        assert _items_alive_in(table) == 50


def test_weak_instances_lists_the_live_instances_only() -> None:
    class Model:
        pass

    kept, dropped = Model(), Model()
    tracked = WeakInstances([kept, dropped])
    del dropped
    gc.collect()
    assert list(tracked) == [kept]
    assert len(tracked) == 1
