-- A broadcast's fan-out: an admin's notice to every active subscriber walks them in batches of
-- short transactions, as an alert's does (0005_fanouts), instead of one statement that took
-- 131 s at 1M subscribers on PostgreSQL and held SQLite's only writer for seconds. A row here
-- is a notice whose audience is not fully walked yet; it goes when the walk reaches the last
-- chat. Written in the broadcast's transaction with the notice and its first batch, so a crash
-- loses neither: the next leader carries on from `after_chat`. Its own table because
-- `fanouts` is keyed by, and references, the item.
CREATE TABLE notice_fanouts (
    notice_id     INTEGER NOT NULL PRIMARY KEY REFERENCES notices (id) ON DELETE CASCADE,
    priority      INTEGER NOT NULL,     -- the deliveries' priority (0 urgent, 1 normal)
    rate          REAL    NOT NULL,     -- the sender's messages per second, for `next_queue_at`
    after_chat    INTEGER NOT NULL,     -- every chat id up to this one is walked
    next_queue_at INTEGER NOT NULL,     -- the next batch's deliveries.queue_at
    created_at    INTEGER NOT NULL
);
