-- 0003: REFUND_FAILED, the order's status when the money did not go back.
--
-- The provider refused the refund (a charge disputed, already charged back, ...: REFUND_PENDING ->
-- REFUND_FAILED), or a refund it had accepted failed later (`refund.failed` / `charge.refund.updated`: REFUNDED,
-- or CANCELLED with a refund, -> REFUND_FAILED). The order's RefundFailed event holds the provider's reason;
-- an operator settles it with the customer. Nothing leaves REFUND_FAILED
-- (commerce.domain.orders.lifecycle, commerce.domain.payments.refunds).

INSERT INTO order_status_transitions (from_status, to_status) VALUES
    ('REFUND_PENDING', 'REFUND_FAILED'),
    ('REFUNDED', 'REFUND_FAILED'),
    ('CANCELLED', 'REFUND_FAILED');

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'FULFILLED', 'REFUND_PENDING', 'CANCELLED', 'REFUNDED', 'REFUND_FAILED'));
