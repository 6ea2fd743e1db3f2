"""Errors of the catalog, each with its stable code from the HTTP contract."""

from __future__ import annotations

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem, NotFound


class ProductNotFound(NotFound):
    def __init__(self, product_id: str) -> None:
        super().__init__(f"There is no product {product_id!r}")


class SkuExists(CommerceError):
    """Some SKUs of the body already belong to a product (another one, or on create any one)."""

    code = ErrorCode.SKU_EXISTS

    def __init__(self, conflicts: list[tuple[int, str]]) -> None:
        skus = ", ".join(sku for _, sku in conflicts)
        super().__init__(
            f"SKU already in use: {skus}",
            errors=[
                FieldProblem(field=f"variants[{index}].sku", code="SKU_EXISTS", message=f"{sku} belongs to a product")
                for index, sku in conflicts
            ],
        )
        self.skus = [sku for _, sku in conflicts]


class ProductChanged(Conflict):
    """Two replaces of one product raced; the later one read a version that no longer exists."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"Product {product_id} was changed meanwhile; read it again and retry")
