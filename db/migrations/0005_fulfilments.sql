-- 0005: fulfilments, and PARTIALLY_FULFILLED, the status of an order some of whose units have shipped.
--
-- A fulfilment is the status event that records it (commerce.domain.orders.fulfilments): OrderPartiallyFulfilled
-- (PAID or PARTIALLY_FULFILLED -> PARTIALLY_FULFILLED) while units are left to ship, OrderFulfilled (PAID or
-- PARTIALLY_FULFILLED -> FULFILLED) for the one that ships the last of them. Its detail holds
-- {"fulfillmentId", "lines": [{"sku", "quantity"}], "carrier"?, "trackingNumber"?}. Events are append-only
-- (0001), so fulfilments are too.
--
-- The database refuses what would ship more than was bought, and a status that disagrees with what shipped:
-- after an order's fulfilment event is inserted, with the order row locked (so two fulfilments of one order
-- are checked one after the other, each seeing the other once committed), every SKU's shipped units must be
-- at least 1 per line of the event, in the order, and at most its quantity (SQLSTATE CF001), and the event's
-- status must be FULFILLED exactly when nothing is left to ship (CF002). The functions read these two codes as
-- "another fulfilment won meanwhile" and decide again on what is there now.
-- An OrderFulfilled event from before this migration (no "lines": the whole order shipped) counts every line.

INSERT INTO order_status_transitions (from_status, to_status) VALUES
    ('PAID', 'PARTIALLY_FULFILLED'),
    ('PARTIALLY_FULFILLED', 'PARTIALLY_FULFILLED'),
    ('PARTIALLY_FULFILLED', 'FULFILLED'),
    ('PARTIALLY_FULFILLED', 'REFUND_PENDING');

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'PARTIALLY_FULFILLED', 'FULFILLED', 'REFUND_PENDING', 'CANCELLED',
                      'REFUNDED', 'REFUND_FAILED'));

CREATE FUNCTION check_fulfilment() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    line record;
    left_to_ship bigint;
    over_shipped boolean;
BEGIN
    IF NEW.type NOT IN ('OrderFulfilled', 'OrderPartiallyFulfilled') THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(NEW.detail -> 'lines') IS DISTINCT FROM 'array' OR jsonb_array_length(NEW.detail -> 'lines') = 0
        OR NEW.to_status IS NULL OR NEW.to_status NOT IN ('FULFILLED', 'PARTIALLY_FULFILLED')
        OR (NEW.type = 'OrderFulfilled') <> (NEW.to_status = 'FULFILLED') THEN
        RAISE EXCEPTION 'fulfilment event % of order % needs lines and a fulfilment status', NEW.event_id, NEW.order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_events_fulfilment_check';
    END IF;
    PERFORM 1 FROM orders WHERE order_id = NEW.order_id FOR UPDATE;
    FOR line IN
        SELECT value ->> 'sku' AS sku, value -> 'quantity' AS quantity
        FROM jsonb_array_elements(NEW.detail -> 'lines')
    LOOP
        IF jsonb_typeof(line.quantity) IS DISTINCT FROM 'number' OR (line.quantity)::text !~ '^[1-9][0-9]{0,8}$'
            OR NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = NEW.order_id AND l.sku = line.sku) THEN
            RAISE EXCEPTION 'order % has no line % to ship % units of', NEW.order_id, line.sku, line.quantity
                USING ERRCODE = 'CF001', CONSTRAINT = 'order_events_fulfilment_lines_check';
        END IF;
    END LOOP;
    SELECT coalesce(sum(greatest(ordered.quantity - coalesce(shipped.units, 0), 0)), 0),
           coalesce(bool_or(shipped.units > ordered.quantity), false)
        INTO left_to_ship, over_shipped
        FROM order_lines ordered
        LEFT JOIN (
            SELECT item ->> 'sku' AS sku, sum((item ->> 'quantity')::bigint) AS units
            FROM order_events e, jsonb_array_elements(e.detail -> 'lines') AS item
            WHERE e.order_id = NEW.order_id AND e.type IN ('OrderFulfilled', 'OrderPartiallyFulfilled')
            GROUP BY item ->> 'sku'
        ) shipped ON shipped.sku = ordered.sku
        WHERE ordered.order_id = NEW.order_id;
    IF over_shipped THEN
        RAISE EXCEPTION 'order % would ship more units than were bought', NEW.order_id
            USING ERRCODE = 'CF001', CONSTRAINT = 'order_events_over_fulfilled_check';
    END IF;
    IF (left_to_ship = 0) <> (NEW.to_status = 'FULFILLED') THEN
        RAISE EXCEPTION 'order % would be % with % units left to ship', NEW.order_id, NEW.to_status, left_to_ship
            USING ERRCODE = 'CF002', CONSTRAINT = 'order_events_fulfilment_status_check';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_events_fulfilment AFTER INSERT ON order_events
    FOR EACH ROW EXECUTE FUNCTION check_fulfilment();
