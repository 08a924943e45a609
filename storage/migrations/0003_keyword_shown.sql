-- Keywords as the user wrote them («الدار البيضاء»), for display; `word` stays the normalized
-- form that matching uses («الدار البيضا»). Rows from before show their normalized word.
ALTER TABLE subscriber_filters ADD COLUMN shown TEXT;
