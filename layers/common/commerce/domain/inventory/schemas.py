"""The stock request models: strict pydantic shapes of the HTTP contract (shared/API.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from commerce.domain.inventory.models import MAX_ON_HAND


class StockBody(BaseModel):
    """PUT /admin/inventory/{sku}: `{"onHand": <int 0..MAX_ON_HAND>}`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=False)

    on_hand: int = Field(alias="onHand", ge=0, le=MAX_ON_HAND)
