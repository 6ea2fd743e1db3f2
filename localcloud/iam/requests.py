"""One edge request as the IAM requests AWS evaluates for it: the actions, the resources' real ARNs, the keys.

A call may need several: a DynamoDB transaction needs the action of each of its items on each item's table
(`TransactWriteItems` itself is not an IAM action), `BatchGetItem` needs its action on every table it reads,
an RDS Data API call needs `rds-data:<Operation>` on the cluster and `secretsmanager:GetSecretValue` on the
secret it names, `PutEvents` needs `events:PutEvents` on every bus its entries name, SQS's batch operations need their
single-message actions (`SendMessageBatch` is `sqs:SendMessage`). DynamoDB requests carry
`dynamodb:LeadingKeys` (the partition key values the request touches, of the table or of the index queried).

Services and operations not described here are evaluated as `<service>:<Operation>` on resource "*" (as
AWS does for actions that take no resource: the Step Functions task-token actions, `sqs:ListQueues`...).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localcloud.iam.evaluation import IamRequest
from localcloud.iam.policies import PolicyBook
from localcloud.usage import operation_of

# The IAM prefix of a service whose signing name differs from it.
IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}


@dataclass(frozen=True)
class Call:
    """What the IAM requests of one edge request are made from."""

    service: str  # the SigV4 signing name: "dynamodb", "rds-data", ...
    operation: str  # "PutItem", "ExecuteStatement", ...
    region: str
    account: str
    body: dict[str, Any]  # the JSON body (or the query protocol's form parameters, single-valued)
    path: str
    method: str
    book: PolicyBook

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def iam_requests(service: str, environ: dict[str, Any], *, account: str, book: PolicyBook) -> list[IamRequest]:
    """Every IAM request AWS would evaluate before serving this edge request."""
    call = Call(
        service=service,
        operation=operation_of(environ),
        region=_region(environ),
        account=account,
        body=_body(environ),
        path=unquote(str(environ.get("PATH_INFO", ""))),
        method=str(environ.get("REQUEST_METHOD", "")),
        book=book,
    )
    describe = _DESCRIBERS.get(service)
    if describe is not None:
        return describe(call)
    return [IamRequest(f"{IAM_PREFIXES.get(service, service)}:{call.operation}", "*")]


# ---------------------------------------------------------------------------------------------- DynamoDB
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_KEY_CONDITION = re.compile(r"(#?[A-Za-z0-9_.-]+)\s*=\s*(:[A-Za-z0-9_]+)")


def _dynamodb(call: Call) -> list[IamRequest]:
    body = call.body
    if call.operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for item in body.get("TransactItems", []):
            for kind, spec in item.items():
                keys = _leading_keys(call, spec["TableName"], [spec.get("Key") or spec.get("Item") or {}])
                requests.append(_table_request(call, _TRANSACT_ACTIONS.get(kind, kind), spec["TableName"], None, keys))
        return requests
    if call.operation == "BatchGetItem":
        return [
            _table_request(call, "BatchGetItem", table, None, _leading_keys(call, table, spec.get("Keys", [])))
            for table, spec in body.get("RequestItems", {}).items()
        ]
    if call.operation == "BatchWriteItem":
        return [
            _table_request(
                call,
                "BatchWriteItem",
                table,
                None,
                _leading_keys(
                    call,
                    table,
                    [
                        (w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key") or {}
                        for w in writes
                    ],
                ),
            )
            for table, writes in body.get("RequestItems", {}).items()
        ]
    table = body.get("TableName")
    if not table:  # ListTables and the like
        return [IamRequest(f"dynamodb:{call.operation}", "*")]
    index = body.get("IndexName")
    if call.operation == "Query":
        keys = _queried_leading_keys(call, table, index)
    elif "Key" in body or "Item" in body:
        keys = _leading_keys(call, table, [body.get("Key") or body.get("Item") or {}])
    else:
        keys = None
    return [_table_request(call, call.operation, table, index, keys)]


def _table_request(
    call: Call, action: str, table: str, index: str | None, leading_keys: list[str] | None
) -> IamRequest:
    resource = table if table.startswith("arn:") else call.arn("dynamodb", f"table/{table}")
    if index:
        resource += f"/index/{index}"
    context = {} if leading_keys is None else {"dynamodb:leadingkeys": leading_keys}
    return IamRequest(f"dynamodb:{action}", resource, context)


def _leading_keys(call: Call, table: str, keys: Sequence[dict[str, Any]]) -> list[str] | None:
    """The partition key values of these items or keys; None when the table's key schema is unknown."""
    schema = call.book.tables.get(table.rsplit("/", 1)[-1])
    if schema is None:
        return None
    return sorted({_scalar(key[schema.partition_key]) for key in keys if schema.partition_key in key})


def _queried_leading_keys(call: Call, table: str, index: str | None) -> list[str] | None:
    """The partition key value a Query names (`#pk = :pk` in its KeyConditionExpression)."""
    schema = call.book.tables.get(table.rsplit("/", 1)[-1])
    if schema is None:
        return None
    partition_key = schema.index_partition_keys.get(index, "") if index else schema.partition_key
    body = call.body
    if "KeyConditions" in body:  # the legacy form
        values = (body["KeyConditions"].get(partition_key) or {}).get("AttributeValueList", [])
        return [_scalar(v) for v in values]
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues", {})
    for name, placeholder in _KEY_CONDITION.findall(str(body.get("KeyConditionExpression", ""))):
        if names.get(name, name) == partition_key and placeholder in values:
            return [_scalar(values[placeholder])]
    return []


def _scalar(value: dict[str, Any]) -> str:
    """A key attribute's value as text ({"S": "CART#1"} -> "CART#1")."""
    return str(next(iter(value.values()))) if isinstance(value, dict) and value else ""


# ---------------------------------------------------------------------------------------------- the others
# SQS's batch operations are no IAM actions of their own: each is authorised as its single-message action.
_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(call: Call) -> list[IamRequest]:
    url = str(call.body.get("QueueUrl", ""))
    action = _SQS_BATCH_ACTIONS.get(call.operation, call.operation)
    if url:
        account, name = url.rstrip("/").split("/")[-2:]
        return [IamRequest(f"sqs:{action}", f"arn:aws:sqs:{call.region}:{account}:{name}")]
    if call.operation == "GetQueueUrl":
        account = str(call.body.get("QueueOwnerAWSAccountId") or call.account)
        return [IamRequest("sqs:GetQueueUrl", f"arn:aws:sqs:{call.region}:{account}:{call.body.get('QueueName', '')}")]
    return [IamRequest(f"sqs:{call.operation}", "*")]


def _states(call: Call) -> list[IamRequest]:
    # StartExecution and DescribeStateMachine name the state machine; DescribeExecution, StopExecution,
    # GetExecutionHistory the execution. The task-token actions (SendTaskSuccess...) are authorised on the
    # state machine whose execution issued the token (what SAM's StepFunctionsCallbackPolicy grants).
    token = call.body.get("taskToken")
    if token is not None:
        state_machine = _state_machine_of_token(call, str(token))
        if state_machine is None:  # no execution issued it: Step Functions itself answers (InvalidToken)
            return []
        return [IamRequest(f"states:{call.operation}", state_machine)]
    resource = call.body.get("stateMachineArn") or call.body.get("executionArn") or "*"
    return [IamRequest(f"states:{call.operation}", str(resource))]


def _state_machine_of_token(call: Call, token: str) -> str | None:
    """The ARN of the state machine whose execution holds the callback `token` (in moto's ASL executions)."""
    backend = stepfunctions_parser_backends[call.account][call.region]
    for state_machine in list(backend.state_machines):
        for execution in list(state_machine.executions):
            worker = getattr(execution, "exec_worker", None)
            if worker is not None and worker.env.callback_pool_manager.get(token) is not None:
                return str(state_machine.arn)
    return None


def _events(call: Call) -> list[IamRequest]:
    if call.operation != "PutEvents":
        bus = call.body.get("EventBusName") or call.body.get("Name")
        return [IamRequest(f"events:{call.operation}", _bus_arn(call, str(bus)) if bus else "*")]
    buses = {str(entry.get("EventBusName") or "default") for entry in call.body.get("Entries", [])}
    return [IamRequest("events:PutEvents", _bus_arn(call, bus)) for bus in sorted(buses)]


def _bus_arn(call: Call, bus: str) -> str:
    return bus if bus.startswith("arn:") else call.arn("events", f"event-bus/{bus}")


def _secretsmanager(call: Call) -> list[IamRequest]:
    secret = call.body.get("SecretId")
    return [IamRequest(f"secretsmanager:{call.operation}", _secret_arn(call, str(secret)) if secret else "*")]


def _secret_arn(call: Call, secret: str) -> str:
    return (
        secret
        if secret.startswith("arn:")
        else call.book.secrets.get(secret, call.arn("secretsmanager", f"secret:{secret}"))
    )


def _rds_data(call: Call) -> list[IamRequest]:
    # The Data API reads the database credentials from the secret as the caller: both must be allowed.
    requests = [IamRequest(f"rds-data:{call.operation}", str(call.body.get("resourceArn", "*")))]
    if call.body.get("secretArn"):
        requests.append(IamRequest("secretsmanager:GetSecretValue", _secret_arn(call, str(call.body["secretArn"]))))
    return requests


def _lambda(call: Call) -> list[IamRequest]:
    match = re.match(r"^/[0-9-]+/functions/([^/]+)(/.*)?$", call.path)
    if match is None:
        return [IamRequest(f"lambda:{call.operation}", "*")]
    name = match.group(1)
    arn = name if name.startswith("arn:") else call.arn("lambda", f"function:{name}")
    action = "InvokeFunction" if call.operation == "Invoke" else call.operation
    return [IamRequest(f"lambda:{action}", arn)]


def _s3(call: Call) -> list[IamRequest]:
    bucket, _, key = call.path.lstrip("/").partition("/")
    if not bucket:
        return [IamRequest("s3:ListAllMyBuckets", "*")]
    if key:
        action = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
            call.method, "PutObject"
        )
        return [IamRequest(f"s3:{action}", f"arn:aws:s3:::{bucket}/{key}")]
    action = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(
        call.method, "ListBucket"
    )
    return [IamRequest(f"s3:{action}", f"arn:aws:s3:::{bucket}")]


def _sns(call: Call) -> list[IamRequest]:
    return [IamRequest(f"sns:{call.operation}", str(call.body.get("TopicArn") or "*"))]


_DESCRIBERS: dict[str, Callable[[Call], list[IamRequest]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "states": _states,
    "events": _events,
    "secretsmanager": _secretsmanager,
    "rds-data": _rds_data,
    "lambda": _lambda,
    "s3": _s3,
    "sns": _sns,
}


# ---------------------------------------------------------------------------------------------- reading
def _region(environ: dict[str, Any]) -> str:
    """The region of the SigV4 credential scope (<key>/<date>/<region>/<service>/aws4_request)."""
    try:
        scope = str(environ.get("HTTP_AUTHORIZATION", "")).split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[2]
    except IndexError:
        return "us-east-1"


def access_key(environ: dict[str, Any]) -> str:
    """The access key a request is signed with (Authorization header, or a presigned URL's X-Amz-Credential)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in auth:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    credential = parse_qs(str(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential")
    return credential[0].split("/", 1)[0] if credential else ""


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    """The JSON body, or the form of a query-protocol call; left readable for the app that serves it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if "x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace")).items()}
    if "json" not in content_type and not environ.get("HTTP_X_AMZ_TARGET"):
        return {}  # S3 objects and other payloads are not read
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
