-- 006_price_window: the anomaly window of a price event reads the index alone.
--
-- Every price event reads the product's last `window` accepted prices
-- (core/price.c SQL_HISTORY). Through price_events(tenant_id, product_id,
-- seq) each of those rows was a table lookup on its own page, and under other
-- workers' commits each such page is a read: 26 µs of the event's ~100 µs of
-- statements inside the write lock. With review_status and the price in the
-- index the window is one or two index pages.
DROP INDEX price_events_product;
CREATE INDEX price_events_product
    ON price_events(tenant_id, product_id, seq, review_status, new_price_minor);
