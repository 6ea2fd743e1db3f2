-- 0004: commerce_reader, the database user of the functions that only read orders.
--
-- GET /orders, GET /orders/{orderId}, GET /admin/orders and GET /admin/orders/{orderId} reach the Data API
-- with the reader's secret (template.yaml: OrdersDbReaderSecret, username commerce_reader), not the master
-- user's: a bug or an injected statement in a reader cannot change an order. The role may log in and read
-- the order tables, nothing else: no INSERT, UPDATE, DELETE or TRUNCATE, no schema changes, not
-- schema_migrations. Its password is not here: the migration function sets it from the reader's secret
-- every time it runs (commerce.adapters.orders_db.reader), after the migrations.
--
-- A role belongs to the whole server, not to one database, so it is created only when missing (several
-- databases of one server, as the tests have, share it); the grants are per database.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'commerce_reader') THEN
        CREATE ROLE commerce_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO commerce_reader;
GRANT SELECT ON TABLE orders, order_lines, order_events, order_status_transitions TO commerce_reader;

-- Order tables later migrations create (as the same migrating user) are readable too; writes never are.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO commerce_reader;
