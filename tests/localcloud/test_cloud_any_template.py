"""The local cloud runs a SAM template that is not this app's, with no commerce code and no glue (any_template/).

Two functions, a table, a queue and a schedule: the schedule invokes Ticker, Ticker sends a note to the
queue, the queue feeds Recorder, Recorder writes the note into the table.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import LocalCloud, default_consumers, default_services
from tests.support.local_cloud import state_directory
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcloud, pytest.mark.slow]

PROJECT = Path(__file__).parent / "any_template"
# A rate(1 minute) schedule fires about every second under this scale.
TIME_SCALE = 60.0


@pytest.fixture(scope="module")
def state() -> Iterator[Path]:
    # The rooms as `python -m localcloud run` starts them, PostgreSQL included: not under pytest's tmp_path.
    with state_directory() as state_dir:
        yield state_dir


@pytest.fixture
def cloud(start_local_cloud: Callable[..., LocalCloud], state: Path) -> LocalCloud:
    return start_local_cloud(
        PROJECT,
        state_dir=state,
        services=default_services(),
        consumers=default_consumers(),
        time_scale=TIME_SCALE,
    )


def _notes(cloud: LocalCloud) -> dict[str, str]:
    table = cloud.outputs["NotesTableName"]
    items = cloud.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["id"]["S"]: item["origin"]["S"] for item in items}


def test_the_functions_run_the_queue_feeds_one_and_the_schedule_fires(cloud: LocalCloud) -> None:
    # Given the template running in the local cloud, with only its own outputs besides the local cloud's
    assert {"NotesTableName", "InboxUrl"} <= set(cloud.outputs)
    assert "DemoUsers" not in cloud.outputs

    # When Ticker is invoked directly, Then it runs and answers the note it sent to the queue
    sent: dict[str, Any] = cloud.invoke("Ticker", {})
    assert sent["origin"] == "direct"

    # And the queue feeds Recorder, which writes that note into the table
    wait_until(lambda: _notes(cloud).get(sent["id"]) == "direct", "the directly sent note in the table")

    # When a message is put on the queue from outside, Then Recorder writes it too
    note = {"id": uuid.uuid4().hex, "origin": "outside"}
    cloud.client("sqs").send_message(QueueUrl=cloud.outputs["InboxUrl"], MessageBody=json.dumps(note))
    wait_until(lambda: _notes(cloud).get(note["id"]) == "outside", "the note sent from outside in the table")

    # And the schedule fires Ticker by itself, whose notes reach the table through the queue
    wait_until(lambda: "Scheduled Event" in _notes(cloud).values(), "a note of a scheduled invocation")

    # And Recorder runs when invoked directly with an SQS batch
    direct = {"id": uuid.uuid4().hex, "origin": "invoked"}
    assert cloud.invoke("Recorder", {"Records": [{"body": json.dumps(direct)}]}) == {"recorded": 1}
    assert _notes(cloud)[direct["id"]] == "invoked"
