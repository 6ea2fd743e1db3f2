"""A flash sale on the local cloud: N buyers race for a few units, then the books are checked.

The simulator stocks a SKU (a new product, or `--sku` of an existing one) with `--units` (and `--shards`, only
when given), then starts `--buyers` buyers over `--arrival-seconds`, each in its own guest session, each with a
role drawn from a realistic mix:

- payer: checks out and pays (`pm_card_visa`);
- decliner: checks out and pays with a card that is declined (`pm_card_chargeDeclined`);
- abandoner: checks out and never pays: the payment times out and the stock comes back;
- retrier: checks out, then sends the very same request again (same `Idempotency-Key`), then pays;
- hoarder: a bot that sends `POST /checkouts` several times with new keys on one cart, then pays the one it got.

A 429 (the route throttle, or BUSY from the admission queue) is retried with the same key after `Retry-After`.
While the sale runs a live progress bar shows the buyers done; a sampler records, every half second, the
answers to `POST /checkouts` (202/409/429), the admission queue's depth, the running workflow executions, the
accepted checkouts by status and the units available. When every buyer is done the sale drains: the scheduled
jobs run once (`POST {AwsEndpointUrl}/_localcloud/schedules/run`) and every
accepted checkout is waited for until it is final. Then the invariants are checked, each of which must be 0:

- oversold units: sold (in COMPLETED checkouts) beyond the units put on sale;
- units leaked: units neither sold, nor available, nor reserved by a checkout still open;
- double charges: checkouts with more than one charged payment intent (the payments sandbox's events);
- accepted checkouts not final after the drain;
- intents charged without a paid order: a charge not refunded whose checkout is not COMPLETED or whose order
  is not PAID;
- payable intents of failed checkouts: intents still payable (`requires_payment_method`,
  `requires_confirmation`, `requires_action` at the payments sandbox) whose checkout is EXPIRED, FAILED or
  CANCELLED: a customer could still pay them for nothing.

`--skus N` sells N hot SKUs of `--units` each (a buyer wants one unit of one of them; the books are kept per SKU).
`--chaos` sets the local cloud's fault switches (`/_localcloud/faults`) for the sale: workers of every checkout
function killed mid-invocation (`--kill-probability`), DynamoDB throttles and 500s, Data API resuming, Step Functions
throttling (`--fault-probability`), provider errors and slow answers, webhooks duplicated, reordered and lost. When
the buyers are done it clears them and runs the schedules again and again until quiet (every accepted checkout
final and a run that repairs nothing), then reports the kills, the faults, the repairs (`GET /admin/upkeep`) and
the time until quiet beside the invariants.

It prints a report (with `POST /checkouts` latency p50/p99 and the local cloud's memory: peak and end PSS of its
whole process tree, and its main process's PSS at the start, peak and end with the growth a minute; for a cloud it
started, or a `make run` whose `localcloud.pid` is beside `--outputs`), writes the report as JSON (with the
memory timeline, sampled every second) and a PNG of the sale over time, and exits 1 if an invariant is not 0.
`--memory-every SECONDS` also prints the main process's and the whole cloud's PSS while the sale runs.

    make run                                   # in one terminal (or use --start)
    .venv/bin/python -m bench.flash_sale --buyers 500 --units 100
    .venv/bin/python -m bench.flash_sale --start --fast --buyers 60 --units 20     # CI-sized, its own cloud
    .venv/bin/python -m bench.flash_sale --start --fast --chaos --buyers 100 --skus 3 --units 8

Against `make run`, abandoned checkouts end after the template's PaymentTimeoutSeconds (15 minutes by default):
start it with `make run ARGS="--time-scale 60 --parameter PaymentTimeoutSeconds=600"` for a sale that drains in
seconds, which is what `--start --fast` does.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jwt
import requests
from requests.adapters import HTTPAdapter

from commerce.domain.checkout.models import checkout_id_for
from localcloud.tokens import Login, user_token

FINAL = frozenset({"COMPLETED", "FAILED", "EXPIRED", "CANCELLED"})
FAILED = FINAL - {"COMPLETED"}
# Stripe's states of an intent a customer can still pay.
PAYABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
ROLES = {"payer": 55, "decliner": 10, "abandoner": 15, "retrier": 10, "hoarder": 10}
HOARDER_KEYS = 4
ADDRESS = {"name": "Flash Buyer", "line1": "1 Sale St", "city": "London", "postalCode": "N1", "country": "GB"}
SANDBOX_KEY = "sk_test_localcloud"  # the payments sandbox's well-known test key
SANDBOX_AUTH = {"Authorization": f"Bearer {SANDBOX_KEY}"}
# What `--start --fast` gives the cloud it starts: time 60x faster, a payment timeout of 20 minutes (20 s of real
# time, long enough for a buyer who pays), and route throttles small enough that a CI-sized sale meets them.
FAST_CLOUD_ARGS = (
    "--time-scale", "60",
    "--parameter", "PaymentTimeoutSeconds=1200",
    "--parameter", "CheckoutsThrottlingBurstLimit=20",
    "--parameter", "CheckoutsThrottlingRateLimit=20",
)  # fmt: skip
MAX_ATTEMPTS = 30  # per request, over 429s and connection hiccups
TOKEN_REFRESH_SECONDS = 300  # an operator token with less left than this is replaced
# The functions a checkout runs through, whose workers `--chaos` kills (logical ids in template.yaml).
CHECKOUT_FUNCTIONS = (
    "CreateCheckoutFunction",
    "AdmitCheckoutsFunction",
    "RequestPaymentFunction",
    "CompleteCheckoutFunction",
    "CompensateCheckoutFunction",
    "CancelCheckoutFunction",
    "PaymentWebhookFunction",
)


# ---------------------------------------------------------------------------------------------- the cloud


class Cloud:
    """The local cloud's endpoints (outputs.json), an operator's token, and a pooled HTTP session."""

    def __init__(self, outputs: dict[str, Any], pool: int) -> None:
        self.outputs = outputs
        self.api = str(outputs["ApiUrl"])
        self.edge = str(outputs["AwsEndpointUrl"])
        self.payments = str(outputs["PaymentsApiUrl"])
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self._operator: tuple[str, float] | None = None  # the token and when it expires (epoch seconds)

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.edge,
            region_name=self.outputs["Region"],
            aws_access_key_id="flash-sale",
            aws_secret_access_key="flash-sale",  # noqa: S106 - the local cloud takes any credentials
        )

    def operator(self) -> dict[str, str]:
        """An operator's bearer header; signed in again when the token has less than 5 minutes left (a long
        sale outlives the operators' 60-minute tokens)."""
        if self._operator is None or self._operator[1] - time.time() < TOKEN_REFRESH_SECONDS:
            user = next(u for u in self.outputs["DemoUsers"] if "admin" in u["groups"])
            token = user_token(self.outputs, Login.of(self.outputs, user["username"]))
            claims = jwt.decode(token, options={"verify_signature": False})
            self._operator = (token, float(claims["exp"]))
        return {"Authorization": f"Bearer {self._operator[0]}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An API call, retried over the gateway's 429 (never over a function's answer, whose 429 is BUSY), and,
        for a read, over a 5xx (a function that timed out on an overloaded machine)."""
        last = "no answer"
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = self.http.request(method, self.api + path, timeout=60, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:  # unanswered: retried, with the same key
                last = f"{type(error).__name__}: {error}"
                time.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            problem = "application/problem" in response.headers.get("content-type", "")
            throttled = response.status_code == 429 and not problem
            if not throttled and not (method == "GET" and response.status_code >= 500):
                return response
            last = f"{response.status_code} {response.text[:200]}"
            time.sleep(random.uniform(0.05, min(2.0, 0.1 * 2**attempt)))
        raise RuntimeError(f"{method} {path}: still refused after {MAX_ATTEMPTS} attempts, the last: {last}")

    def faults(self, method: str, switches: dict[str, Any] | None = None) -> dict[str, Any]:
        """The local cloud's fault switches (`/_localcloud/faults`): set, cleared or read, with their counts."""
        answer = self.http.request(method, f"{self.edge}/_localcloud/faults", json=switches, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.payments + path, timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json()


# ---------------------------------------------------------------------------------------------- what happened


@dataclass
class Tally:
    """Everything the buyers saw, shared between their threads and the sampler (one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter[int] = field(default_factory=Counter)  # POST /checkouts answers by status
    codes: Counter[str] = field(default_factory=Counter)  # their problem codes
    latencies: list[float] = field(default_factory=list)  # seconds, every POST /checkouts
    accepted: dict[str, dict[str, str]] = field(default_factory=dict)  # checkout id -> its buyer's headers
    # Every checkout a key sent may have created (its id follows from the session and the key), whether or not
    # the buyer saw the answer (a 5xx, a dropped connection): the drain looks each one up.
    sent: dict[str, dict[str, str]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # checkout id -> last status seen
    sku_of: dict[str, str] = field(default_factory=dict)  # checkout id -> the SKU its cart holds
    roles: Counter[str] = field(default_factory=Counter)
    broken: list[str] = field(default_factory=list)  # answers that break the contract (replays that differ...)
    errors: Counter[str] = field(default_factory=Counter)  # buyers that gave up on an error, by its kind
    buyers_done: int = 0

    def answered(self, response: requests.Response, seconds: float) -> None:
        with self.lock:
            self.answers[response.status_code] += 1
            self.latencies.append(seconds)
            if response.status_code >= 400 and "problem" in response.headers.get("content-type", ""):
                self.codes[str(response.json().get("code"))] += 1

    def saw(self, checkout_id: str, status: str, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            if headers is not None:
                self.accepted[checkout_id] = headers
            self.status[checkout_id] = status


@dataclass
class Sale:
    cloud: Cloud
    skus: list[str]  # the hot SKUs on sale, each with the same units; a buyer wants one unit of one of them
    tally: Tally
    poll_seconds: float
    think_seconds: float

    # -------------------------------------------------------------------------------------- one buyer

    def buyer(self, role: str) -> None:
        try:
            headers = {"X-Session-Token": self._session()}
            sku = random.choice(self.skus)
            added = self.cloud.call("POST", "/cart/lines", json={"sku": sku, "quantity": 1}, headers=headers)
            if added.status_code != 200:
                return  # sold out before it reached the cart (INSUFFICIENT_STOCK): this buyer goes home
            self._think()
            keys = [str(uuid.uuid4()) for _ in range(HOARDER_KEYS if role == "hoarder" else 1)]
            placed = [self._place(headers, key, sku) for key in keys]
            checkout = next((c for c in placed if c is not None), None)
            if checkout is None:
                return  # out of stock, or refused
            if role == "retrier":
                again = self._place(headers, keys[0], sku)
                if again is None or again["checkoutId"] != checkout["checkoutId"]:
                    with self.tally.lock:
                        self.tally.broken.append(f"a retry with the same key answered {again!r}")
            waiting = self._wait(checkout["checkoutId"], headers, {"AWAITING_PAYMENT", *FINAL})
            if waiting["status"] != "AWAITING_PAYMENT" or role == "abandoner":
                return
            self._think()
            self._pay(waiting, "pm_card_chargeDeclined" if role == "decliner" else "pm_card_visa")
            self._wait(checkout["checkoutId"], headers, set(FINAL))
        except (requests.RequestException, RuntimeError, ValueError, KeyError) as error:
            # The buyer gives up (an overloaded cloud); what it had accepted is still followed by the drain.
            with self.tally.lock:
                self.tally.errors[type(error).__name__] += 1
        finally:
            with self.tally.lock:
                self.tally.buyers_done += 1
                self.tally.roles[role] += 1

    def _session(self) -> str:
        response = self.cloud.call("POST", "/sessions")
        response.raise_for_status()
        return str(response.json()["token"])

    def _place(self, headers: dict[str, str], key: str, sku: str) -> dict[str, Any] | None:
        """POST /checkouts with `key`, retried with the same key over 429; the checkout, or None if refused."""
        body = {"email": "buyer@example.com", "shippingAddress": ADDRESS}
        session_id = headers["X-Session-Token"].split(".", 1)[0]
        checkout_id = checkout_id_for(f"SESSION#{session_id}", key)
        with self.tally.lock:
            self.tally.sent[checkout_id] = headers
            self.tally.sku_of[checkout_id] = sku
        for attempt in range(MAX_ATTEMPTS):
            started = time.perf_counter()
            try:
                response = self.cloud.http.post(
                    f"{self.cloud.api}/checkouts", json=body, headers={**headers, "Idempotency-Key": key}, timeout=60
                )
            except (requests.ConnectionError, requests.Timeout):  # unanswered: retried, with the same key
                time.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            self.tally.answered(response, time.perf_counter() - started)
            if response.status_code == 202:
                checkout = dict(response.json())
                self.tally.saw(checkout["checkoutId"], checkout["status"], headers)
                return checkout
            if response.status_code >= 500:
                # The function failed or timed out (an overloaded machine): the checkout may exist or not, and
                # only a retry with the same key can tell, at no risk of a second checkout.
                time.sleep(min(2.0, 0.1 * 2**attempt))
                continue
            if response.status_code == 429 or response.json().get("code") == "REQUEST_IN_PROGRESS":
                wait = float(response.headers.get("Retry-After") or 0) or min(2.0, 0.1 * 2**attempt)
                time.sleep(random.uniform(wait / 2, wait))
                continue
            return None  # 409 OUT_OF_STOCK or CHECKOUT_IN_PROGRESS, and the like: the contract's refusals
        return None

    def _wait(self, checkout_id: str, headers: dict[str, str], statuses: set[str]) -> dict[str, Any]:
        while True:
            response = self.cloud.call("GET", f"/checkouts/{checkout_id}", headers=headers)
            checkout = dict(response.json())
            self.tally.saw(checkout_id, checkout["status"])
            if checkout["status"] in statuses:
                return checkout
            time.sleep(random.uniform(self.poll_seconds / 2, self.poll_seconds * 1.5))

    def _pay(self, checkout: dict[str, Any], method: str) -> None:
        """Confirm the intent as the buyer's browser does (the client secret authorises it)."""
        payment = checkout["payment"]
        self.cloud.http.post(
            f"{self.cloud.payments}/v1/payment_intents/{payment['intentId']}/confirm",
            data={"payment_method": method, "client_secret": payment["clientSecret"]},
            timeout=60,
        )

    def _think(self) -> None:
        time.sleep(random.uniform(0, self.think_seconds))


# ---------------------------------------------------------------------------------------------- watching


@dataclass
class Sample:
    t: float
    answers: dict[str, int]
    queue_depth: int
    running_executions: int
    checkouts: dict[str, int]
    available: int


class Sampler:
    """Every `interval` seconds, one `Sample` of the sale, on its own thread."""

    def __init__(self, cloud: Cloud, skus: list[str], tally: Tally, interval: float = 0.5) -> None:
        self.cloud, self.skus, self.tally, self.interval = cloud, skus, tally, interval
        self.samples: list[Sample] = []
        self.skipped = 0
        self._stop = threading.Event()
        self._sqs, self._sfn = cloud.client("sqs"), cloud.client("stepfunctions")
        queues = self._sqs.list_queues().get("QueueUrls", [])
        self._queue = next((q for q in queues if "CheckoutQueue" in q and "DeadLetter" not in q), None)
        machines = self._sfn.list_state_machines()["stateMachines"]
        self._machine = next((m["stateMachineArn"] for m in machines if "CheckoutStateMachine" in m["name"]), None)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="flash-sale-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample_once()

    def _sample_once(self) -> None:
        try:
            self.sample()
        except (requests.RequestException, RuntimeError, KeyError):
            self.skipped += 1  # a reading failed (an overloaded cloud): this sample is left out

    def sample(self) -> None:
        with self.tally.lock:
            answers = {str(status): count for status, count in self.tally.answers.items()}
            checkouts = dict(Counter(self.tally.status.values()))
        self.samples.append(
            Sample(
                t=round(time.monotonic() - self._started, 2),
                answers=answers,
                queue_depth=self._queue_depth(),
                running_executions=self._running(),
                checkouts=checkouts,
                available=sum(int(stock(self.cloud, sku)["available"]) for sku in self.skus),
            )
        )

    def _queue_depth(self) -> int:
        if self._queue is None:
            return 0
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def _running(self) -> int:
        if self._machine is None:
            return 0
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self._machine, statusFilter="RUNNING"
        )
        return sum(len(page["executions"]) for page in pages)


class MemoryWatch:
    """The PSS of a process and its children (the local cloud: edge, function workers, PostgreSQL) over time.

    Sampled every `interval` seconds: the whole tree's PSS, and the root process's own (the main process: edge,
    moto, the rooms), kept as a timeline for the report; `every` > 0 also prints a line every that many seconds.
    """

    def __init__(self, pid: int | None, interval: float = 1.0, every: float = 0.0) -> None:
        self.pid, self.interval, self.every = pid, interval, every
        self.peak_bytes = 0
        self.timeline: list[dict[str, float]] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flash-sale-memory", daemon=True)

    def __enter__(self) -> MemoryWatch:
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        printed_at = -self.every
        while not self._stop.wait(self.interval):
            total, main, processes = self.sample()
            if processes == 0:
                continue
            now = time.monotonic() - self._started
            self.peak_bytes = max(self.peak_bytes, total)
            self.timeline.append(
                {"t": round(now, 1), "mainMiB": round(main / 2**20, 1), "totalMiB": round(total / 2**20, 1)}
            )
            if self.every > 0 and now - printed_at >= self.every:
                printed_at = now
                print(
                    f"  memory at {now:6.0f} s: main process PSS {main / 2**20:6.0f} MiB, local cloud "
                    f"{total / 2**20:6.0f} MiB ({processes} processes)",
                    file=sys.stderr,
                    flush=True,
                )

    def sample(self) -> tuple[int, int, int]:
        """(PSS of the tree, PSS of the root process, processes measured), in bytes."""
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0, 0, 0
        total = main = measured = 0
        for process in processes:
            try:
                pss = int(process.memory_full_info().pss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += pss
            measured += 1
            if process.pid == self.pid:
                main = pss
        return total, main, measured


# ---------------------------------------------------------------------------------------------- the books


def stock(cloud: Cloud, sku: str) -> dict[str, Any]:
    answer = cloud.call("GET", f"/admin/inventory/{sku}", headers=cloud.operator())
    if answer.status_code != 200:
        raise RuntimeError(f"GET /admin/inventory/{sku}: {answer.status_code} {answer.text}")
    return dict(answer.json())


def stock_sku(cloud: Cloud, sku: str | None, units: int, shards: int | None) -> str:
    """The SKU on sale (a new product unless `sku` names one), with `units` on hand (and `shards`, if given)."""
    if sku is None:
        sku = f"FLASH-{uuid.uuid4().hex[:8].upper()}"
        product = {
            "name": f"Flash sale {sku}",
            "description": "stocked by bench.flash_sale",
            "category": "flash-sale",
            "variants": [{"sku": sku, "name": "Only", "price": {"amount": 1999, "currency": "EUR"}}],
        }
        created = cloud.call("POST", "/admin/products", json=product, headers=cloud.operator())
        if created.status_code != 201:
            raise SystemExit(f"could not create the product: {created.status_code} {created.text}")
    body: dict[str, Any] = {"onHand": units}
    if shards is not None:
        body["shards"] = shards
    stocked = cloud.call("PUT", f"/admin/inventory/{sku}", json=body, headers=cloud.operator())
    if stocked.status_code != 200:
        raise SystemExit(f"could not stock {sku}: {stocked.status_code} {stocked.text}")
    return sku


def run_schedules(cloud: Cloud) -> list[dict[str, str]]:
    """Run the template's scheduled jobs once, now, and wait for them: what ran, with each one's status."""
    answer = cloud.http.post(f"{cloud.edge}/_localcloud/schedules/run", timeout=600)
    answer.raise_for_status()
    return list(answer.json()["ran"])


def drain(sale: Sale, deadline_seconds: float, *, until_quiet: bool = False) -> int:
    """Wait until every accepted checkout is final (or the deadline passes), running the upkeep once first; with
    `until_quiet`, run the upkeep every round until, besides, a run repairs nothing. How many times it ran.
    A checkout created by a request whose answer the buyer never saw is found by its id and waited for too."""
    with sale.tally.lock:
        unseen = {cid: h for cid, h in sale.tally.sent.items() if cid not in sale.tally.accepted}
    for checkout_id, headers in unseen.items():
        answer = sale.cloud.call("GET", f"/checkouts/{checkout_id}", headers=headers)
        if answer.status_code == 200:
            sale.tally.saw(checkout_id, str(answer.json()["status"]), headers)
    runs, repaired = 0, 0
    deadline = time.monotonic() + deadline_seconds
    while True:
        if runs == 0 or until_quiet:
            since = _now()
            run_schedules(sale.cloud)
            runs, repaired = runs + 1, sum((repairs(sale.cloud, since) or {"unknown": 1}).values())
        with sale.tally.lock:
            open_ones = {cid: h for cid, h in sale.tally.accepted.items() if sale.tally.status.get(cid) not in FINAL}
        if (not open_ones and not repaired) or time.monotonic() >= deadline:
            return runs
        for checkout_id, headers in open_ones.items():
            answer = sale.cloud.call("GET", f"/checkouts/{checkout_id}", headers=headers)
            sale.tally.saw(checkout_id, str(answer.json()["status"]))
        time.sleep(1.0)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def repairs(cloud: Cloud, since: datetime.datetime) -> dict[str, int] | None:
    """What the upkeep runs that started at `since` or later repaired, by kind (`GET /admin/upkeep`); None when
    the report cannot be read (an overloaded cloud): the caller counts that as not quiet yet."""
    try:
        answer = cloud.call("GET", "/admin/upkeep", params={"runs": 100}, headers=cloud.operator())
    except RuntimeError as error:
        print(f"  GET /admin/upkeep: {error}", file=sys.stderr)
        return None
    if answer.status_code != 200:
        print(f"  GET /admin/upkeep: {answer.status_code} {answer.text[:300]}", file=sys.stderr)
        return None
    repaired: Counter[str] = Counter()
    for job in answer.json()["jobs"]:
        for run in job["runs"]:
            if datetime.datetime.fromisoformat(run["startedAt"].replace("Z", "+00:00")) >= since:
                repaired.update(run["repaired"])
    return dict(repaired)


def chaos_switches(kill_probability: float, fault_probability: float) -> dict[str, Any]:
    """The fault switches of a chaos run: workers of every checkout function killed, AWS errors and latency on
    the calls a checkout makes, provider errors and slow answers, webhooks duplicated, reordered and lost."""
    p = fault_probability
    return {
        "kills": [{"function": name, "probability": kill_probability} for name in CHECKOUT_FUNCTIONS],
        "aws": [
            {"service": "dynamodb", "operation": "TransactWriteItems", "probability": p,
             "error": "ProvisionedThroughputExceededException"},
            {"service": "dynamodb", "operation": "UpdateItem", "error": "InternalServerError", "probability": p},
            {"service": "dynamodb", "operation": "PutItem", "latencyMs": 100, "probability": p},
            {"service": "rds-data", "operation": "ExecuteStatement", "error": "DatabaseResumingException",
             "probability": p},
            {"service": "rds-data", "operation": "BeginTransaction", "latencyMs": 200, "probability": p},
            {"service": "states", "operation": "StartExecution", "error": "ThrottlingException", "probability": p},
            {"service": "states", "operation": "SendTaskSuccess", "error": "ThrottlingException", "probability": p},
        ],
        "payments": {
            "faults": [
                {"kind": "error", "status": 500, "count": 3, "path": "/v1/payment_intents", "method": "POST"},
                {"kind": "slow", "seconds": 2, "count": 3, "path": "/v1/payment_intents", "method": "POST"},
            ],
            "webhooks": {"duplicates": 1, "out_of_order": True, "lost": p},
        },
    }  # fmt: skip


def sandbox_events(cloud: Cloud, kind: str) -> Iterator[dict[str, Any]]:
    """Every event of one type the payments sandbox recorded, newest first, page by page."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"type": kind, "limit": 100}
        if cursor:
            params["starting_after"] = cursor
        page = cloud.sandbox("GET", "/v1/events", params=params, headers=SANDBOX_AUTH)
        yield from page["data"]
        if not page["has_more"] or not page["data"]:
            return
        cursor = page["data"][-1]["id"]


def invariants(sale: Sale, units: int, settle_seconds: float = 60.0) -> dict[str, Any]:
    """The sale's books after the drain; every `violations` count must be 0. A payment that arrived late is
    refunded by its webhook, which may still be on its way: the books are read again until they balance or
    `settle_seconds` pass (a lasting imbalance is a violation)."""
    deadline = time.monotonic() + settle_seconds
    while True:
        books = _books(sale, units)
        if all(v == 0 for v in books["violations"].values()) or time.monotonic() > deadline:
            return books
        time.sleep(2.0)


def _books(sale: Sale, units: int) -> dict[str, Any]:
    tally, cloud = sale.tally, sale.cloud
    checkouts: dict[str, dict[str, Any]] = {}
    for checkout_id, headers in tally.accepted.items():
        checkouts[checkout_id] = dict(cloud.call("GET", f"/checkouts/{checkout_id}", headers=headers).json())
    # One unit per buyer's cart: per SKU, what COMPLETED checkouts sold and what open ones still hold.
    sold = Counter(tally.sku_of[cid] for cid, c in checkouts.items() if c["status"] == "COMPLETED")
    held = Counter(tally.sku_of[cid] for cid, c in checkouts.items() if c["status"] not in FINAL)
    final_stock = {sku: stock(cloud, sku) for sku in sale.skus}

    charged: dict[str, set[str]] = {}  # checkout id -> intents charged
    orders_of: dict[str, str] = {}  # intent id -> order id
    for event in sandbox_events(cloud, "payment_intent.succeeded"):
        intent = event["data"]["object"]
        checkout_id = intent.get("metadata", {}).get("checkout_id")
        if checkout_id in checkouts:
            charged.setdefault(checkout_id, set()).add(intent["id"])
            orders_of[intent["id"]] = intent["metadata"].get("order_id", "")
    refunded = {
        e["data"]["object"]["payment_intent"]
        for e in sandbox_events(cloud, "charge.refunded")
        if e["data"]["object"]["amount_refunded"] >= e["data"]["object"]["amount"]
    }
    unpaid = 0
    for checkout_id, intents in charged.items():
        for intent_id in intents - refunded:
            order = cloud.call("GET", f"/admin/orders/{orders_of[intent_id]}", headers=cloud.operator())
            paid = order.status_code == 200 and order.json()["status"] in ("PAID", "FULFILLED", "PARTIALLY_FULFILLED")
            if checkouts[checkout_id]["status"] != "COMPLETED" or not paid:
                unpaid += 1
    payable = 0
    for checkout in checkouts.values():
        payment = checkout.get("payment") or {}
        if checkout["status"] in FAILED and payment.get("intentId"):
            intent = cloud.sandbox("GET", f"/v1/payment_intents/{payment['intentId']}", headers=SANDBOX_AUTH)
            payable += intent["status"] in PAYABLE
    violations = {
        "oversoldUnits": sum(max(0, sold[sku] - units) for sku in sale.skus),
        "unitsLeaked": sum(units - sold[sku] - int(final_stock[sku]["available"]) - held[sku] for sku in sale.skus),
        "doubleCharges": sum(1 for intents in charged.values() if len(intents) > 1),
        "acceptedNotFinal": sum(held.values()),
        "chargedWithoutPaidOrder": unpaid,
        "payableIntentsOfFailedCheckouts": payable,
        "brokenAnswers": len(tally.broken),
    }
    return {
        "units": units * len(sale.skus),
        "sold": sum(sold.values()),
        "stockAfter": {
            sku: {k: levels[k] for k in ("onHand", "reserved", "available") if k in levels}
            for sku, levels in final_stock.items()
        },
        "checkoutsByStatus": dict(Counter(c["status"] for c in checkouts.values())),
        "intentsCharged": sum(len(i) for i in charged.values()),
        "intentsRefunded": len(refunded),
        "violations": violations,
    }


# ---------------------------------------------------------------------------------------------- the report


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def plot(samples: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t for s in samples]
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    for status, colour in (("202", "tab:green"), ("409", "tab:orange"), ("429", "tab:red")):
        totals = [s.answers.get(status, 0) for s in samples]
        per_interval = [b - a for a, b in zip([0, *totals], totals, strict=False)]
        axes[0].plot(t, per_interval, label=status, color=colour)
    axes[0].set_ylabel("POST /checkouts\nanswers per sample")
    axes[1].plot(t, [s.queue_depth for s in samples], label="admission queue depth")
    axes[1].plot(t, [s.running_executions for s in samples], label="running executions")
    axes[1].set_ylabel("work in flight")
    for status in ("COMPLETED", "FAILED", "EXPIRED", "CANCELLED"):
        axes[2].plot(t, [s.checkouts.get(status, 0) for s in samples], label=status.lower())
    axes[2].set_ylabel("accepted checkouts")
    axes[3].plot(t, [s.available for s in samples], label="available", color="tab:purple")
    axes[3].set_ylabel("units available")
    axes[3].set_xlabel("seconds since the sale opened")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(loc="upper right", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _memory_summary(timeline: list[dict[str, float]]) -> dict[str, Any] | None:
    """Peak and end PSS of the whole local cloud and of its main process, and the main process's growth."""
    if not timeline:
        return None
    first, last = timeline[0], timeline[-1]
    minutes = max((last["t"] - first["t"]) / 60, 1e-9)
    return {
        "peakMiB": max(point["totalMiB"] for point in timeline),
        "endMiB": last["totalMiB"],
        "mainStartMiB": first["mainMiB"],
        "mainPeakMiB": max(point["mainMiB"] for point in timeline),
        "mainEndMiB": last["mainMiB"],
        "mainGrowthMiBPerMinute": (last["mainMiB"] - first["mainMiB"]) / minutes,
        "timeline": timeline,
    }


def print_report(report: dict[str, Any]) -> None:
    books = report["books"]
    print(f"\nflash sale: {report['buyers']} buyers for {books['units']} units of {report['sku']}")
    print(
        f"  wall time {report['wallSeconds']:.1f} s "
        f"(sale {report['saleSeconds']:.1f} s, drain {report['drainSeconds']:.1f} s)"
    )
    print(f"  roles: {report['roles']}; buyers who gave up on an error: {report['buyerErrors'] or 0}")
    print(f"  POST /checkouts answers: {report['answers']}  codes: {report['codes']}")
    latency = report["checkoutLatencyMs"]
    print(
        f"  POST /checkouts latency: p50 {latency['p50']:.0f} ms, p99 {latency['p99']:.0f} ms "
        f"({latency['count']} requests)"
    )
    print(f"  checkouts: {books['checkoutsByStatus']}; sold {books['sold']}; stock after {books['stockAfter']}")
    print(f"  intents charged {books['intentsCharged']}, refunded {books['intentsRefunded']}")
    memory = report.get("memory")
    if memory is not None:
        print(
            f"  local cloud PSS: peak {memory['peakMiB']:.0f} MiB, at the end {memory['endMiB']:.0f} MiB "
            "(process tree, sampled every second)"
        )
        print(
            f"  main process PSS: {memory['mainStartMiB']:.0f} MiB at the start, peak {memory['mainPeakMiB']:.0f}, "
            f"{memory['mainEndMiB']:.0f} at the end ({memory['mainGrowthMiBPerMinute']:+.1f} MiB a minute)"
        )
    chaos = report.get("chaos")
    if chaos is not None:
        print(f"  chaos: workers killed {sum(chaos['kills'].values())} {chaos['kills']}")
        print(f"         AWS faults {sum(chaos['faults']['aws'].values())} {chaos['faults']['aws']}")
        print(f"         payments faults {chaos['faults']['payments']}")
        repaired = chaos["repairs"]
        if repaired is None:
            print("         repairs unknown (GET /admin/upkeep could not be read)")
        else:
            print(f"         repairs {sum(repaired.values())}, by kind:")
            for kind, count in sorted(repaired.items()):
                print(f"           {kind:<36} {count}")
        print(
            f"         quiet {chaos['secondsUntilQuiet']:.1f} s after the faults were cleared "
            f"({chaos['schedulesRuns']} schedule runs)"
        )
    print("  invariants (each must be 0):")
    for name, value in books["violations"].items():
        print(f"    {name:<26} {value}{'' if value == 0 else '   <-- VIOLATED'}")


# ---------------------------------------------------------------------------------------------- running it


@contextmanager
def cloud_outputs(args: argparse.Namespace) -> Iterator[tuple[dict[str, Any], int | None]]:
    """The outputs of the cloud to sell on, and its pid when this run started it."""
    if not args.start:
        path = Path(args.outputs)
        if not path.exists():
            raise SystemExit(f"{path} not found: start `make run` first, or pass --start")
        pid_file = path.parent / "localcloud.pid"  # what `make run` writes beside outputs.json
        try:
            pid: int | None = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = None
        yield json.loads(path.read_text()), pid
        return
    from tests.support.local_cloud import run_local_cloud

    extra = [*(FAST_CLOUD_ARGS if args.fast else ()), *args.cloud_arg]
    with contextmanager(run_local_cloud)(*extra) as running:
        yield running.outputs, running.process.pid


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flash_sale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=500, help="how many buyers (default 500)")
    parser.add_argument("--units", type=int, default=100, help="units on sale, of each SKU (default 100)")
    parser.add_argument("--skus", type=int, default=1, help="how many hot SKUs are on sale (default 1)")
    parser.add_argument("--sku", help="sell this existing SKU (its on-hand is set to --units) instead of a new one")
    parser.add_argument("--shards", type=int, help="spread the units over this many counters (PUT inventory's shards)")
    parser.add_argument("--arrival-seconds", type=float, default=10.0, help="buyers arrive over this long")
    parser.add_argument("--concurrency", type=int, default=24, help="buyers active at once (threads)")
    parser.add_argument("--fast", action="store_true", help="CI-sized timings (short thinking, fast polls, fast cloud)")
    parser.add_argument("--start", action="store_true", help="start a local cloud of its own on free ports")
    parser.add_argument(
        "--cloud-arg", action="append", default=[], help="an extra argument for the started cloud (repeatable)"
    )
    parser.add_argument("--outputs", default=".localcloud/outputs.json", help="outputs.json of a running `make run`")
    parser.add_argument("--drain-seconds", type=float, default=1200.0, help="how long to wait for checkouts to end")
    parser.add_argument("--out", default="flash-sale", help="where to write <out>.json and <out>.png")
    parser.add_argument("--seed", type=int, help="random seed (roles, timings)")
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar")
    parser.add_argument(
        "--memory-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="print the local cloud's PSS (main process and all) every SECONDS (it is sampled every second anyway)",
    )
    parser.add_argument(
        "--chaos", action="store_true", help="kill checkout workers, inject AWS/provider/webhook faults in the sale"
    )
    parser.add_argument("--kill-probability", type=float, default=0.1, help="--chaos: per invocation (default 0.1)")
    parser.add_argument("--fault-probability", type=float, default=0.05, help="--chaos: per AWS call (default 0.05)")
    args = parser.parse_args(argv)
    if args.sku is not None and args.skus != 1:
        parser.error("--sku sells one existing SKU: leave out --skus")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    roles = rng.choices(list(ROLES), weights=list(ROLES.values()), k=args.buyers)
    started = time.monotonic()
    with cloud_outputs(args) as (outputs, pid), MemoryWatch(pid, every=args.memory_every) as memory:
        cloud = Cloud(outputs, pool=args.concurrency + 8)
        skus = [stock_sku(cloud, args.sku, args.units, args.shards) for _ in range(args.skus)]
        tally = Tally()
        sale = Sale(cloud, skus, tally, poll_seconds=0.5 if args.fast else 1.0, think_seconds=0.2 if args.fast else 2.0)
        with Sampler(cloud, skus, tally) as sampler:
            opened, opened_at = time.monotonic(), _now()
            if args.chaos:
                cloud.faults("PUT", chaos_switches(args.kill_probability, args.fault_probability))
            progress = nullcontext() if args.no_progress else _progress(tally, args.buyers)
            try:
                with progress, ThreadPoolExecutor(args.concurrency) as pool:
                    for i, role in enumerate(roles):
                        arrive_at = opened + args.arrival_seconds * i / max(1, args.buyers)
                        time.sleep(max(0.0, arrive_at - time.monotonic()))
                        pool.submit(sale.buyer, role)
            finally:
                faults = cloud.faults("DELETE") if args.chaos else None
            sold_out = time.monotonic()
            upkeep_runs = drain(sale, args.drain_seconds, until_quiet=args.chaos)
        drained = time.monotonic()
        books = invariants(sale, args.units)
    chaos = None
    if faults is not None:
        chaos = {
            "kills": faults["counts"]["kills"],
            "faults": {"aws": faults["counts"]["aws"], "payments": faults["counts"]["payments"]},
            "repairs": repairs(cloud, opened_at),
            "schedulesRuns": upkeep_runs,
            "secondsUntilQuiet": drained - sold_out,
        }
    report = {
        "sku": ", ".join(skus),
        "buyers": args.buyers,
        "wallSeconds": time.monotonic() - started,
        "saleSeconds": sold_out - opened,
        "drainSeconds": drained - sold_out,
        "roles": dict(tally.roles),
        "answers": {str(k): v for k, v in sorted(tally.answers.items())},
        "codes": dict(tally.codes),
        "checkoutLatencyMs": {
            "p50": 1000 * percentile(tally.latencies, 50),
            "p99": 1000 * percentile(tally.latencies, 99),
            "count": len(tally.latencies),
        },
        "peakPssMiB": memory.peak_bytes / 2**20 if memory.timeline else None,
        "memory": _memory_summary(memory.timeline),
        "broken": tally.broken,
        "buyerErrors": dict(tally.errors),
        "samplesSkipped": sampler.skipped,
        "books": books,
        "chaos": chaos,
        "samples": [asdict(s) for s in sampler.samples],
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    plot(sampler.samples, out.with_suffix(".png"), f"{args.buyers} buyers, {args.units} units")
    print_report(report)
    print(f"  wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")
    return 0 if all(v == 0 for v in books["violations"].values()) else 1


@contextmanager
def _progress(tally: Tally, buyers: int) -> Iterator[None]:
    """A live bar of buyers done, with the answers so far (rich), refreshed from the tally."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stop = threading.Event()
    with Progress(
        TextColumn("[bold]flash sale"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[answers]}"),
    ) as bar:
        task = bar.add_task("buyers", total=buyers, answers="")

        def refresh() -> None:
            while not stop.wait(0.25):
                with tally.lock:
                    done, answers = tally.buyers_done, dict(tally.answers)
                bar.update(task, completed=done, answers=" ".join(f"{k}:{v}" for k, v in sorted(answers.items())))

        thread = threading.Thread(target=refresh, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            bar.update(task, completed=tally.buyers_done)


if __name__ == "__main__":
    sys.exit(main())
