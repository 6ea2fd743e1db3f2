"""`POST {edge}/_localcloud/schedules/run`: every scheduled job of the template run once, now, and waited for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from localcloud.cloud import LocalCloud
from localcloud.event_sources.component import EventSourcesService
from tests.localcloud.conftest import ThrowawayProject

pytestmark = pytest.mark.localcloud

# Writes a file per run into the directory the template gives it, after a pause: a job that takes a while.
RECORDING_JOB = """
import json, os, time, uuid

def handler(event, context):
    time.sleep(0.3)
    path = os.path.join(os.environ["OUT_DIR"], uuid.uuid4().hex)
    with open(path, "w") as out:
        json.dump(event, out)
    return {"ok": True}
"""
FAILING_JOB = "def handler(event, context):\n    raise RuntimeError('the upkeep broke')\n"


def test_schedules_run_runs_every_schedule_once_and_answers_when_they_finished(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud], tmp_path: Path
) -> None:
    # Given a template with two daily schedules (one recording, one failing), which would not fire for a day
    out_dir = tmp_path / "runs"
    out_dir.mkdir()
    throwaway_project.function(
        "Upkeep",
        RECORDING_JOB,
        environment={"OUT_DIR": str(out_dir)},
        events={"Daily": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)", "Input": '{"limit": 5}'}}},
    )
    throwaway_project.function(
        "Broken", FAILING_JOB, events={"Daily": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}}
    )
    throwaway_project.write()
    cloud = start_local_cloud(throwaway_project.root, consumers=[EventSourcesService()])

    # When the schedules are run through the edge
    answer = requests.post(f"{cloud.edge_url}/_localcloud/schedules/run", timeout=60)

    # Then it answers once both jobs finished: the recording job has written its run, with the rule's input
    assert answer.status_code == 200
    ran = sorted(answer.json()["ran"], key=lambda r: r["target"])
    assert [(r["target"].rsplit(":", 1)[-1], r["status"]) for r in ran] == [
        (cloud.app.functions["Broken"].name, "FAILED"),
        (cloud.app.functions["Upkeep"].name, "SUCCEEDED"),
    ]
    assert all(r["rule"] for r in ran)
    assert [path.read_text() for path in out_dir.iterdir()] == ['{"limit": 5}']

    # And each run runs them again
    assert requests.post(f"{cloud.edge_url}/_localcloud/schedules/run", timeout=60).status_code == 200
    assert len(list(out_dir.iterdir())) == 2


def test_schedules_run_only_takes_post(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud]
) -> None:
    # Given a running cloud without any schedule
    throwaway_project.function("Fn", "def handler(e, c):\n    return 1\n")
    throwaway_project.write()
    cloud = start_local_cloud(throwaway_project.root, consumers=[EventSourcesService()])

    # When asked with GET, and with POST / Then GET is refused, POST runs nothing
    assert requests.get(f"{cloud.edge_url}/_localcloud/schedules/run", timeout=10).status_code == 405
    answer = requests.post(f"{cloud.edge_url}/_localcloud/schedules/run", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"ran": []})
