-- 0002: REFUND_PENDING, the order's status between deciding to give money back and the provider's answer.
--
-- A refund or a cancel of a paid order first moves the order (PAID or FULFILLED -> REFUND_PENDING, guarded
-- by the status like every transition), then asks the provider, then records its answer (REFUND_PENDING ->
-- REFUNDED or CANCELLED). A fulfil racing a refund therefore loses at the database (REFUND_PENDING cannot be
-- fulfilled), and an order whose function died after the first move is found by its status and finished
-- (commerce.domain.payments.refunds.finish_pending_refunds).

INSERT INTO order_status_transitions (from_status, to_status) VALUES
    ('PAID', 'REFUND_PENDING'),
    ('FULFILLED', 'REFUND_PENDING'),
    ('REFUND_PENDING', 'REFUNDED'),
    ('REFUND_PENDING', 'CANCELLED');

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'FULFILLED', 'REFUND_PENDING', 'CANCELLED', 'REFUNDED'));
