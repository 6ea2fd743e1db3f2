"""The stock request models: strict pydantic shapes of the HTTP contract (shared/API.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from commerce.domain.inventory.models import KEEP, MAX_ON_HAND, MAX_SHARDS, StockSettings


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class StockBody(BaseModel):
    """PUT /admin/inventory/{sku}: `{"onHand": 0..MAX_ON_HAND, "shards"?: 1..64, "purchaseLimit"?: >=1 | null}`.

    A field left out keeps its current value; `"purchaseLimit": null` removes the limit.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=False)

    on_hand: int = Field(alias="onHand", ge=0, le=MAX_ON_HAND)
    # No default in the schema: a field left out keeps the stored value (`settings`), it is never set to 1.
    shards: int = Field(default=1, alias="shards", ge=1, le=MAX_SHARDS, json_schema_extra=_no_default)
    purchase_limit: int | None = Field(default=None, alias="purchaseLimit", ge=1, le=MAX_ON_HAND)

    def settings(self) -> StockSettings:
        given = self.model_fields_set
        return StockSettings(
            on_hand=self.on_hand,
            shards=self.shards if "shards" in given else KEEP,
            purchase_limit=self.purchase_limit if "purchase_limit" in given else KEEP,
        )
