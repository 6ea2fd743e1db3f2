"""The edge's IAM check: a request signed with a function's key is served only if its role allows it."""

from __future__ import annotations

import logging
from typing import Any

from localcloud.iam.denials import WsgiApp, access_denied, denial_message
from localcloud.iam.evaluation import Decision, evaluate
from localcloud.iam.policies import PolicyBook
from localcloud.iam.requests import access_key, iam_requests

logger = logging.getLogger(__name__)


class IamGuard:
    """An edge gate (`EdgeApp.gate`): None to let a request through, or the app that answers AccessDenied."""

    def __init__(self, book: PolicyBook) -> None:
        self.book = book

    def __call__(self, service: str, environ: dict[str, Any]) -> WsgiApp | None:
        principal = self.book.principal(access_key(environ))
        if principal is None:  # the local cloud's own key (tests, the CLI, event sources): not a function's call
            return None
        documents = self.book.documents(principal)
        account = principal.role_arn.split(":")[4] if principal.role_arn.count(":") >= 5 else ""
        try:
            requests = iam_requests(service, environ, account=account, book=self.book)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError):
            # A malformed request (no table name, a queue URL that is none): the service refuses it itself
            # (ValidationException...), as AWS would whatever the policies say.
            return None
        for request in requests:
            decision = evaluate(request, documents)
            if decision is not Decision.ALLOWED:
                message = denial_message(principal.arn, request, explicit=decision is Decision.EXPLICIT_DENY)
                logger.warning("IAM: %s", message)
                return access_denied(service, environ, message)
        return None
