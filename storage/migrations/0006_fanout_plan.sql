-- The fan-out walks subscribers by primary key, 2,000 chats a batch (storage/fanout.py), and
-- nothing else reads subscribers by (active, alert_level) any more: an alert was one statement
-- over that index before batches. On PostgreSQL the index was worse than useless: the generic
-- plan of the walk (what a prepared statement may get after five runs, where the batch's
-- bounds are unknown to the planner) ANDed it with the batch's key range, reading its 1.2M
-- entries for a batch of 2,000 chats at 1M subscribers (docs/BENCHMARKS.md). Every subscriber
-- write paid for it too.
DROP INDEX subscribers_active;
