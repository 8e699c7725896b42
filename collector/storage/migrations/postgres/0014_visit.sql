-- What the page that asked knows of the visit (the website widget's data-order-id and
-- data-segment): the shop's order number and its segment label; '' when none.
ALTER TABLE responses ADD COLUMN order_id TEXT NOT NULL DEFAULT '';
ALTER TABLE responses ADD COLUMN segment TEXT NOT NULL DEFAULT '';
