-- 0001: orders, their lines and their append-only event history.
--
-- The schema makes invalid data impossible rather than relying on the code: statuses and their
-- transitions are checked here too, money is integer minor units in one currency per order, a
-- checkout makes at most one order, lines and events cannot be edited or removed, and an order's
-- status always equals the target of its most recent status event (checked at commit).
--
-- Applied by commerce.adapters.orders_db.migrations, in one transaction, recorded in schema_migrations.
-- Once applied anywhere, this file never changes: later changes are new files (0002_..., ...).

-- The lifecycle of shared/API.md, as data: an order event's (from, to) must be one of these rows and an
-- UPDATE of orders.status must follow one. tests/integration/test_migrations.py checks it equals the
-- domain's transition table.
CREATE TABLE order_status_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    CONSTRAINT order_status_transitions_pkey PRIMARY KEY (from_status, to_status)
);

INSERT INTO order_status_transitions (from_status, to_status) VALUES
    ('PENDING_PAYMENT', 'PAID'),
    ('PENDING_PAYMENT', 'CANCELLED'),
    ('PAID', 'FULFILLED'),
    ('PAID', 'REFUNDED'),
    ('PAID', 'CANCELLED'),
    ('FULFILLED', 'REFUNDED');

CREATE TABLE orders (
    order_id         uuid        NOT NULL,
    checkout_id      text        NOT NULL,
    session_id       text,
    customer_id      text,
    email            text        NOT NULL,
    status           text        NOT NULL,
    currency         char(3)     NOT NULL,
    subtotal_amount  bigint      NOT NULL,
    total_amount     bigint      NOT NULL,
    shipping_address jsonb       NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (order_id),
    -- A retried checkout finds its order instead of making a second one.
    CONSTRAINT orders_checkout_id_key UNIQUE (checkout_id),
    -- The target of order_lines' (order_id, currency) foreign key: a line is in its order's currency.
    CONSTRAINT orders_order_id_currency_key UNIQUE (order_id, currency),
    CONSTRAINT orders_status_check
        CHECK (status IN ('PENDING_PAYMENT', 'PAID', 'FULFILLED', 'CANCELLED', 'REFUNDED')),
    CONSTRAINT orders_owner_check CHECK (session_id IS NOT NULL OR customer_id IS NOT NULL),
    CONSTRAINT orders_checkout_id_check CHECK (length(checkout_id) BETWEEN 1 AND 128),
    CONSTRAINT orders_session_id_check CHECK (length(session_id) BETWEEN 1 AND 128),
    CONSTRAINT orders_customer_id_check CHECK (length(customer_id) BETWEEN 1 AND 128),
    CONSTRAINT orders_email_check CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_amounts_check CHECK (subtotal_amount >= 0 AND total_amount >= 0),
    CONSTRAINT orders_shipping_address_check CHECK (jsonb_typeof(shipping_address) = 'object'),
    CONSTRAINT orders_updated_at_check CHECK (updated_at >= created_at),
    -- Milliseconds, as the API and the Data API's TIMESTAMP parameters carry them: keyset cursors and
    -- createdFrom/createdTo bounds then compare exactly.
    CONSTRAINT orders_created_at_precision_check CHECK (created_at = date_trunc('milliseconds', created_at))
);

-- Keyset pagination of the operators' listings, newest first: one index per filter they use.
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, order_id DESC);
CREATE INDEX orders_email_created_idx ON orders (lower(email), created_at DESC, order_id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, order_id DESC);
-- The storefront's "my orders": by guest session or by signed-in customer.
CREATE INDEX orders_session_created_idx ON orders (session_id, created_at DESC, order_id DESC)
    WHERE session_id IS NOT NULL;
CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC, order_id DESC)
    WHERE customer_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id          uuid     NOT NULL,
    line_no           smallint NOT NULL,
    sku               text     NOT NULL,
    product_id        text     NOT NULL,
    name              text     NOT NULL,
    quantity          integer  NOT NULL,
    unit_amount       bigint   NOT NULL,
    currency          char(3)  NOT NULL,
    -- Derived, so it can never disagree with quantity x unit price.
    line_total_amount bigint GENERATED ALWAYS AS (unit_amount * quantity) STORED,
    CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_order_fkey FOREIGN KEY (order_id, currency) REFERENCES orders (order_id, currency),
    CONSTRAINT order_lines_sku_key UNIQUE (order_id, sku),
    CONSTRAINT order_lines_line_no_check CHECK (line_no >= 0),
    CONSTRAINT order_lines_sku_check CHECK (length(sku) BETWEEN 1 AND 64),
    CONSTRAINT order_lines_product_id_check CHECK (length(product_id) BETWEEN 1 AND 128),
    CONSTRAINT order_lines_name_check CHECK (length(name) BETWEEN 1 AND 400),
    CONSTRAINT order_lines_quantity_check CHECK (quantity > 0),
    CONSTRAINT order_lines_unit_amount_check CHECK (unit_amount >= 0)
);

CREATE TABLE order_events (
    event_id    bigint GENERATED ALWAYS AS IDENTITY,
    order_id    uuid        NOT NULL,
    type        text        NOT NULL,
    from_status text,
    to_status   text,
    actor       text        NOT NULL,
    at          timestamptz NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT order_events_pkey PRIMARY KEY (event_id),
    CONSTRAINT order_events_order_fkey FOREIGN KEY (order_id) REFERENCES orders (order_id),
    -- A status change must be a transition of the lifecycle (MATCH SIMPLE: skipped when from_status is NULL).
    CONSTRAINT order_events_transition_fkey
        FOREIGN KEY (from_status, to_status) REFERENCES order_status_transitions (from_status, to_status),
    -- Only the creation enters a status without leaving one, and it enters PENDING_PAYMENT.
    CONSTRAINT order_events_creation_check
        CHECK (from_status IS NOT NULL OR to_status IS NULL OR to_status = 'PENDING_PAYMENT'),
    CONSTRAINT order_events_from_without_to_check CHECK (from_status IS NULL OR to_status IS NOT NULL),
    CONSTRAINT order_events_type_check CHECK (type ~ '^[A-Z][A-Za-z]{1,63}$'),
    CONSTRAINT order_events_actor_check CHECK (length(actor) BETWEEN 1 AND 200),
    CONSTRAINT order_events_detail_check CHECK (jsonb_typeof(detail) = 'object')
);

CREATE INDEX order_events_order_idx ON order_events (order_id, event_id);

-- Lines and events are history: rows are added, never changed or removed.
CREATE FUNCTION forbid_history_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events
    FOR EACH ROW EXECUTE FUNCTION forbid_history_change();
CREATE TRIGGER order_events_no_truncate BEFORE TRUNCATE ON order_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_history_change();
CREATE TRIGGER order_lines_append_only BEFORE UPDATE OR DELETE ON order_lines
    FOR EACH ROW EXECUTE FUNCTION forbid_history_change();
CREATE TRIGGER order_lines_no_truncate BEFORE TRUNCATE ON order_lines
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_history_change();

-- An order is born PENDING_PAYMENT, moves only along order_status_transitions, and never changes
-- what was bought, by whom, for how much or when it was created.
CREATE FUNCTION guard_order_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'PENDING_PAYMENT' THEN
            RAISE EXCEPTION 'a new order must be PENDING_PAYMENT, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_initial_status_check';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.order_id <> OLD.order_id OR NEW.checkout_id <> OLD.checkout_id OR NEW.currency <> OLD.currency
        OR NEW.subtotal_amount <> OLD.subtotal_amount OR NEW.total_amount <> OLD.total_amount
        OR NEW.created_at <> OLD.created_at OR NEW.email <> OLD.email
        OR NEW.shipping_address <> OLD.shipping_address THEN
        RAISE EXCEPTION 'order % can only change its status and updated_at', OLD.order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_immutable_check';
    END IF;
    IF NEW.status <> OLD.status AND NOT EXISTS (
        SELECT 1 FROM order_status_transitions t WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.order_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_transition_check';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER orders_guard BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION guard_order_change();
CREATE TRIGGER orders_no_delete BEFORE DELETE OR TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_history_change();

-- At commit: the order's status is the target of its latest status event, so no status change goes
-- unrecorded. Deferred, because the order row and its event are written by separate statements.
CREATE FUNCTION check_order_status_recorded() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    recorded text;
    current_status text;
BEGIN
    SELECT e.to_status INTO recorded
        FROM order_events e
        WHERE e.order_id = NEW.order_id AND e.to_status IS NOT NULL
        ORDER BY e.event_id DESC
        LIMIT 1;
    SELECT o.status INTO current_status FROM orders o WHERE o.order_id = NEW.order_id;
    IF recorded IS DISTINCT FROM current_status THEN
        RAISE EXCEPTION 'order % is % but its latest status event says %', NEW.order_id, current_status,
            coalesce(recorded, 'nothing')
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'orders_status_recorded_check';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER orders_status_recorded AFTER INSERT OR UPDATE ON orders
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_order_status_recorded();
