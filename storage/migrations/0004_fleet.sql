-- Several workers on one database (issue 16). Standard SQL that SQLite and PostgreSQL both take;
-- BIGINT where a value outgrows 32 bits (Telegram's chat and user ids, epoch milliseconds).

-- Leases: a named role held by one worker until `expires_at` (epoch seconds), renewed by its
-- holder; another worker may take it once it has expired. 'leader' is the one that polls the
-- sources, runs the digests and drives the paced sender. `previous` is who held it before the
-- current holder took it (whose claimed deliveries the new holder puts back).
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    previous    TEXT,
    expires_at  INTEGER NOT NULL,
    since       INTEGER NOT NULL        -- when the holder took it (renewals keep it)
);

-- A delivery in 'sending' names the worker that claimed it and until when the claim holds;
-- rows claimed before this migration have neither, and count as abandoned.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN claim_expires_at INTEGER;
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE state = 'sending';

-- The item ids of the last list of headlines shown in a chat (/latest, /urgent, "more"), in
-- order, as a JSON array: what `/summary N` refers to, whichever worker answers it.
CREATE TABLE chat_lists (
    chat_id     BIGINT  PRIMARY KEY,
    item_ids    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Each user's command pace (the per-user limit, GCRA): `due_at` is the theoretical arrival
-- time of the next command, in epoch milliseconds; `warned_at` (ms) is when the user was last
-- told to slow down; `allowed` and `warn` are the verdict of the last counted update.
CREATE TABLE command_pace (
    user_id     BIGINT  PRIMARY KEY,
    due_at      BIGINT  NOT NULL,
    warned_at   BIGINT,
    allowed     INTEGER NOT NULL,
    warn        INTEGER NOT NULL
);
