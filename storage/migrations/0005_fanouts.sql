-- An alert's fan-out walks the subscribers in batches of short transactions instead of one
-- statement that held the only writer for seconds at 1M subscribers (issue 16, point 5). A row
-- here is an alert whose audience is not fully walked yet; it goes when the walk reaches the
-- last chat. Written in the poll's transaction with the item, so a crash never loses an alert:
-- the next leader carries on from `after_chat`. Standard SQL both backends take: INTEGER is
-- BIGINT on PostgreSQL (storage.dialect), which chat ids and epoch milliseconds need.
CREATE TABLE fanouts (
    item_id       INTEGER NOT NULL PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    source_id     INTEGER NOT NULL,
    urgent        INTEGER NOT NULL CHECK (urgent IN (0, 1)),
    story_id      INTEGER NOT NULL,     -- the story's first item (this item when it is the first)
    body          TEXT    NOT NULL,     -- normalized title and summary, for keyword filters
    story_window  INTEGER NOT NULL,     -- seconds: one alert per story and chat within it
    rate          REAL    NOT NULL,     -- the sender's messages per second, for `next_queue_at`
    after_chat    INTEGER NOT NULL,     -- every chat id up to this one is walked
    next_queue_at INTEGER NOT NULL,     -- the next batch's deliveries.queue_at
    created_at    INTEGER NOT NULL
);

-- The order the sender takes pending deliveries in, after priority: when the delivery would go
-- if its alert had the sender to itself, in milliseconds since the epoch (an alert's first
-- batch at its time, each next batch later by its size over the rate). A second alert arriving
-- while the first is still going out ranks its first batch at its own time, so it goes before
-- the first's tail instead of after it; two long alerts share the sender in turns.
ALTER TABLE deliveries ADD COLUMN queue_at INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET queue_at = created_at * 1000 WHERE state IN ('pending', 'sending');
DROP INDEX deliveries_queue;
CREATE INDEX deliveries_queue ON deliveries (priority, queue_at, id) WHERE state = 'pending';

-- A story's items, for the one-alert-per-story rule (its first item and every later one).
CREATE INDEX items_story ON items (story_id) WHERE story_id IS NOT NULL;
