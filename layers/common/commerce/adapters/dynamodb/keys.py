"""Every key of the commerce table is built here, and only here.

Item layout (PK / SK: main attributes):

- session, SESSION#<sessionId> / SESSION: tokenHash (sha256 hex), customerId?, expiresAt (RFC 3339),
  ttl (epoch s).
- cart, CART#<ownerKey> / CART: ownerKey = SESSION#<sessionId> or CUSTOMER#<sub>; lines map, version,
  ttl for guest carts.
- product, PRODUCT#<productId> / PRODUCT: name, description, category, skus (list, in order), updatedAt;
  GSI1 (CATALOG, name#id) and GSI2 (CATEGORY#<category>, name#id).
- sku (stock), SKU#<sku> / SKU: productId, productName, variantName, price {amount, currency}, retired;
  the counters of the SKU's shard 0 (onHand, reserved, available); shards (how many shards take new
  reservations, 1..64; absent = 1), shardSpan (how many shard indexes may hold units: above `shards` while a
  shrunk SKU's old shards still hold reserved units; absent = 1), purchaseLimit (units per buyer; absent = none).
- sku shard, SKU#<sku>#SHARD#<n> / SHARD (n = 1..shardSpan-1): sku, shard, onHand, reserved, available,
  active (false once a reshard left it out: it then holds only reserved units, available 0, until they close).
- buyer purchases, BUYER#<buyer> / PURCHASES (buyer = CUSTOMER#<sub> or SESSION#<sessionId>): one counter
  attribute `u#<sku>` per SKU with a purchase limit, the units that buyer holds in open reservations plus
  has bought; taken in the reservation's transaction, given back by a release (not by a commit).
- reservation, RESERVATION#<id> / RESERVATION: lines [{sku, quantity}], takes [{sku, shard, quantity}] (where
  the units came from), buyer and counted (the SKUs whose purchase counter it took), status RESERVED /
  RELEASED / COMMITTED, expiresAt, ttl. While RESERVED it is also in GSI1 (HELD_RESERVATIONS#<shard 00..15>,
  <expiresAt>#<id>), written in the reservation's own transaction and removed in the one that releases or
  commits it, so the upkeep finds reservations held past their expiry (with or without a checkout) without a
  scan.
- checkout, CHECKOUT#<checkoutId> / CHECKOUT: the record of commerce.domain.checkout.models.Checkout
  (status, owner, lines, total, email, shippingAddress, payment, failure, version). While QUEUED it is also
  in GSI1 (QUEUED_CHECKOUTS#<shard 00..15>, <reservation expiry>#<id>) so the upkeep finds never-started
  checkouts without a scan; any other status drops the entry. Every checkout is also in GSI3
  (CHECKOUTS#<shard 0..7>, <createdAt>#<id>), the operators' listing, newest first, over 8 shards.
- open-checkout lock, CART#<ownerKey> / OPEN_CHECKOUT: checkoutId of the cart's latest checkout, written in
  the same transaction as that checkout's record (only if absent or naming a checkout found final), deleted
  when that checkout becomes final. At most one open checkout per cart rests on it.
- payment task, PAYMENT#<intentId> / TASK: the Step Functions task token waiting for that intent's webhook,
  and the intent's outcome (payments.py). Once the outcome is CLOSED and until the provider confirmed the
  intent cancelled (or its payment refunded), it is also in GSI1 (CLOSED_INTENTS#<shard 00..15>,
  <decidedAt>#<intentId>), so the upkeep retries a cancel that failed without a scan.
- webhook event, WEBHOOK#<eventId> / EVENT: a payment provider event already handled (dedup), ttl.
- upkeep job, UPKEEP / JOB#<job>: a scheduled job that has run (lastStartedAt), so its runs can be listed.
- upkeep run, UPKEEP#<job> / RUN#<startedAt>#<runId>: one run of that job (started, ended, examined,
  repaired by kind, failed), ttl (kept 14 days).
- stock audit state, STOCK_AUDIT / STATE: cursor (where the next page of the catalog starts) and suspects
  (shard -> {reserved, held} seen by the last audit, awaiting confirmation; commerce.domain.inventory.audit).
- checkout scan state, RECONCILE / CHECKOUT_SCAN: after (GSI3 shard -> the last GSI3SK the reconciliation's
  walk over open checkouts examined) and retry (checkout ids whose repair failed; stranded_checkouts.py).

Stock counters live on the SKU item (shard 0) and its shard items and only change through conditional
writes: `available = onHand - reserved` is kept as its own attribute on each because DynamoDB conditions
cannot do arithmetic; every write that touches one of the three keeps the equation true on that item.
"""

from __future__ import annotations

CATALOG = "CATALOG"
CHECKOUT_LISTING_SHARDS = 8


def key(pk: str, sk: str) -> dict[str, str]:
    return {"PK": pk, "SK": sk}


def session_key(session_id: str) -> dict[str, str]:
    return key(f"SESSION#{session_id}", "SESSION")


def cart_key(owner_key: str) -> dict[str, str]:
    return key(f"CART#{owner_key}", "CART")


def guest_owner(session_id: str) -> str:
    return f"SESSION#{session_id}"


def customer_owner(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def product_key(product_id: str) -> dict[str, str]:
    return key(f"PRODUCT#{product_id}", "PRODUCT")


def sku_key(sku: str) -> dict[str, str]:
    return key(f"SKU#{sku}", "SKU")


def sku_shard_key(sku: str, shard: int) -> dict[str, str]:
    """Shard 0 is the SKU item itself (an unsharded SKU is stored exactly as before shards existed)."""
    return sku_key(sku) if shard == 0 else key(f"SKU#{sku}#SHARD#{shard}", "SHARD")


def purchases_key(buyer: str) -> dict[str, str]:
    return key(f"BUYER#{buyer}", "PURCHASES")


def purchase_counter(sku: str) -> str:
    """The attribute of a buyer's PURCHASES item counting one SKU."""
    return f"u#{sku}"


def reservation_key(reservation_id: str) -> dict[str, str]:
    return key(f"RESERVATION#{reservation_id}", "RESERVATION")


def held_reservations_partition(shard: int) -> str:
    """GSI1 partition of the reservations still held, by shard (see inventory.HELD_RESERVATION_SHARDS)."""
    return f"HELD_RESERVATIONS#{shard:02d}"


def catalog_sort_key(name: str, product_id: str) -> str:
    return f"{name.casefold()}#{product_id}"


def category_partition(category: str) -> str:
    return f"CATEGORY#{category}"


def checkout_key(checkout_id: str) -> dict[str, str]:
    return key(f"CHECKOUT#{checkout_id}", "CHECKOUT")


def open_checkout_key(owner_key: str) -> dict[str, str]:
    """The cart's open-checkout lock, next to the cart item (same partition)."""
    return key(f"CART#{owner_key}", "OPEN_CHECKOUT")


def payment_task_key(intent_id: str) -> dict[str, str]:
    return key(f"PAYMENT#{intent_id}", "TASK")


def closed_intents_partition(shard: int) -> str:
    """GSI1 partition of the CLOSED payment intents not yet cancelled, by shard (payments.CLOSED_INTENT_SHARDS)."""
    return f"CLOSED_INTENTS#{shard:02d}"


def webhook_event_key(event_id: str) -> dict[str, str]:
    return key(f"WEBHOOK#{event_id}", "EVENT")


def checkout_listing_partition(shard: int) -> str:
    return f"CHECKOUTS#{shard}"


def upkeep_jobs_key(job: str) -> dict[str, str]:
    return key("UPKEEP", f"JOB#{job}")


def upkeep_runs_partition(job: str) -> str:
    return f"UPKEEP#{job}"


def stock_audit_state_key() -> dict[str, str]:
    return key("STOCK_AUDIT", "STATE")


def checkout_scan_key() -> dict[str, str]:
    return key("RECONCILE", "CHECKOUT_SCAN")
