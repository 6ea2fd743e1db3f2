"""Errors of the stock domain, each with its stable code from the HTTP contract."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem, NotFound


class SkuNotFound(CommerceError):
    code = ErrorCode.SKU_NOT_FOUND

    def __init__(self, sku: str) -> None:
        super().__init__(f"There is no SKU {sku!r}")
        self.sku = sku


class BelowReserved(CommerceError):
    code = ErrorCode.BELOW_RESERVED

    def __init__(self, sku: str, on_hand: int, reserved: int) -> None:
        super().__init__(
            f"SKU {sku} has {reserved} units reserved; on-hand stock cannot be set to {on_hand}",
            errors=[FieldProblem(field="onHand", code="BELOW_RESERVED", message=f"must be at least {reserved}")],
        )
        self.reserved = reserved


@dataclass(frozen=True)
class Shortage:
    """One reservation line that cannot be served: `line` is its index in the request."""

    line: int
    sku: str
    requested: int
    available: int
    sellable: bool  # False when the SKU does not exist or is retired

    def problem(self) -> FieldProblem:
        if not self.sellable:
            return FieldProblem(
                field=f"lines[{self.line}].sku", code="SKU_NOT_FOUND", message=f"{self.sku} is not for sale"
            )
        return FieldProblem(
            field=f"lines[{self.line}].quantity",
            code="INSUFFICIENT_STOCK",
            message=f"{self.requested} of {self.sku} requested, {max(self.available, 0)} available",
        )


class OutOfStock(CommerceError):
    """Nothing was reserved: at least one line could not be served. `errors` has one problem per short line."""

    code = ErrorCode.OUT_OF_STOCK

    def __init__(self, shortages: list[Shortage]) -> None:
        skus = ", ".join(s.sku for s in shortages)
        super().__init__(f"Not enough stock for {skus}", errors=[s.problem() for s in shortages])
        self.shortages = shortages


@dataclass(frozen=True)
class OverLimit:
    """One line that would take its buyer past the SKU's purchase limit: `held` counts open and bought units."""

    line: int
    sku: str
    requested: int
    held: int
    limit: int

    def problem(self) -> FieldProblem:
        room = max(self.limit - self.held, 0)
        return FieldProblem(
            field=f"lines[{self.line}].quantity",
            code="PURCHASE_LIMIT",
            message=f"{self.requested} of {self.sku} requested; the limit is {self.limit} per buyer, {room} left",
        )


class PurchaseLimitExceeded(CommerceError):
    """Nothing was reserved: at least one line is over its SKU's per-buyer limit. One problem per such line."""

    code = ErrorCode.PURCHASE_LIMIT

    def __init__(self, over: list[OverLimit]) -> None:
        skus = ", ".join(o.sku for o in over)
        super().__init__(f"Over the purchase limit for {skus}", errors=[o.problem() for o in over])
        self.over = over


class ReservationTooFragmented(Conflict):
    """The units exist, but spread over more shards than one transaction may touch: nothing was reserved."""

    def __init__(self, items: int, limit: int) -> None:
        super().__init__(
            f"Serving these lines would touch {items} items, more than one transaction's {limit}; "
            "order fewer lines, or let an operator reshard the SKU (which gathers its units)"
        )


class StockBusy(CommerceError):
    """DynamoDB kept throttling the stock items (a hot SKU with too few shards): nothing changed; retry."""

    code = ErrorCode.BUSY

    def __init__(self, retry_after_seconds: int = 1) -> None:
        super().__init__(
            "The stock of this SKU is too busy right now; retry shortly",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class ReservationNotFound(NotFound):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"There is no reservation {reservation_id!r}")


class ReservationClosed(Conflict):
    """Releasing a committed reservation or committing a released one: the units have gone the other way."""

    def __init__(self, reservation_id: str, status: str) -> None:
        super().__init__(f"Reservation {reservation_id} is already {status}")
        self.status = status


class ReservationMismatch(Conflict):
    """A reservation id reused for different lines: a retry must ask for exactly what it asked before."""

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"Reservation {reservation_id} already exists with different lines")


class StockInconsistent(CommerceError):
    """Counters that contradict a reservation (never expected): refuse rather than drive a counter negative."""

    code = ErrorCode.INTERNAL
