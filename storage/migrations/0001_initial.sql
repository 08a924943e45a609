-- Ajil's first schema. Times are whole seconds since the Unix epoch, UTC.

CREATE TABLE subscribers (
    chat_id          INTEGER PRIMARY KEY,
    chat_type        TEXT    NOT NULL CHECK (chat_type IN ('private', 'group', 'supergroup', 'channel')),
    title            TEXT,
    language         TEXT    NOT NULL DEFAULT 'ar' CHECK (language IN ('ar', 'fr', 'en')),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    alert_level      TEXT    NOT NULL DEFAULT 'urgent' CHECK (alert_level IN ('urgent', 'all', 'digest')),
    quiet_start      INTEGER CHECK (quiet_start BETWEEN 0 AND 1439),   -- minutes after local midnight
    quiet_end        INTEGER CHECK (quiet_end BETWEEN 0 AND 1439),
    quiet_to_digest  INTEGER NOT NULL DEFAULT 0 CHECK (quiet_to_digest IN (0, 1)),
    digest_at        INTEGER CHECK (digest_at BETWEEN 0 AND 1439),
    topic_id         INTEGER,                                           -- forum topic for alerts
    digest_sent_at   INTEGER,
    deactivated_why  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX subscribers_active ON subscribers (active, alert_level);

CREATE TABLE subscriber_filters (
    chat_id INTEGER NOT NULL REFERENCES subscribers (chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    word    TEXT    NOT NULL,   -- normalized
    PRIMARY KEY (chat_id, word)
) WITHOUT ROWID;

CREATE TABLE sources (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT    NOT NULL UNIQUE,
    url                   TEXT    NOT NULL,
    kind                  TEXT    NOT NULL,
    etag                  TEXT,
    last_modified         TEXT,
    last_attempt_at       INTEGER,
    last_success_at       INTEGER,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT,
    failing_since         INTEGER,
    next_fetch_at         INTEGER,
    disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    primed                INTEGER NOT NULL DEFAULT 0 CHECK (primed IN (0, 1))  -- first poll done
);

CREATE TABLE subscriber_sources (
    chat_id   INTEGER NOT NULL REFERENCES subscribers (chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    enabled   INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    PRIMARY KEY (chat_id, source_id)
) WITHOUT ROWID;

CREATE TABLE items (
    id                INTEGER PRIMARY KEY,
    uid               TEXT    NOT NULL UNIQUE,          -- stable id: canonical URL, guid, or source+title
    source_id         INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    url               TEXT    UNIQUE,
    title             TEXT    NOT NULL,
    normalized_title  TEXT    NOT NULL,
    normalized_text   TEXT    NOT NULL DEFAULT '',
    published_at      INTEGER,
    sort_at           INTEGER NOT NULL,                 -- published, clamped to when we saw it
    urgent            INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    summary           TEXT,                             -- the feed's description
    article_summary   TEXT,                             -- sentences picked from the article, JSON
    image_url         TEXT,
    story_id          INTEGER REFERENCES items (id),    -- first item of the same story
    fetched_at        INTEGER NOT NULL
);
CREATE INDEX items_latest ON items (sort_at DESC);
CREATE INDEX items_urgent ON items (urgent, sort_at DESC);
CREATE INDEX items_source ON items (source_id, sort_at DESC);

-- Full-text search over the normalized title and text. SQLite: an FTS5 index, kept by
-- triggers. PostgreSQL: the item's normalized words (storage.items.search_words, written by
-- storage.items) in an array with a GIN index; a search asks for every word (@>), which is
-- what FTS5 does with the same quoted words.
-- dialect: sqlite
CREATE VIRTUAL TABLE items_fts USING fts5 (
    normalized_title, normalized_text,
    content = 'items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, normalized_title, normalized_text)
    VALUES (new.id, new.normalized_title, new.normalized_text);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, normalized_title, normalized_text)
    VALUES ('delete', old.id, old.normalized_title, old.normalized_text);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF normalized_title, normalized_text ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, normalized_title, normalized_text)
    VALUES ('delete', old.id, old.normalized_title, old.normalized_text);
    INSERT INTO items_fts (rowid, normalized_title, normalized_text)
    VALUES (new.id, new.normalized_title, new.normalized_text);
END;
-- dialect: postgresql
ALTER TABLE items ADD COLUMN search_words TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX items_search ON items USING gin (search_words);
-- dialect: all

-- Messages that are not one item: an admin's broadcast, a subscriber's digest.
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('broadcast', 'digest')),
    body        TEXT    NOT NULL,       -- broadcast: the text; digest: item ids as JSON
    created_at  INTEGER NOT NULL
);

-- The outbox: one row per item (or notice) and chat. A chat that migrates to a supergroup
-- keeps its rows.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER REFERENCES items (id) ON DELETE CASCADE,
    notice_id   INTEGER REFERENCES notices (id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL REFERENCES subscribers (chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    priority    INTEGER NOT NULL DEFAULT 1,             -- 0 urgent, 1 normal: lower goes first
    -- pending, sending, sent, failed, broken or dropped (storage.models.DeliveryState). No CHECK:
    -- an IN-list check per row doubled the cost of enqueueing 100,000 deliveries.
    state       TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,                       -- quiet hours and retry backoff
    last_error  TEXT,
    message_id  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK ((item_id IS NULL) != (notice_id IS NULL)),
    -- chat_id first: the same index serves the foreign key's cascades on chat_id.
    UNIQUE (chat_id, item_id)
);
-- Partial, so that the 100,000 rows of an alert's fan-out don't pay for it.
CREATE UNIQUE INDEX deliveries_notice ON deliveries (chat_id, notice_id) WHERE notice_id IS NOT NULL;
CREATE INDEX deliveries_queue ON deliveries (priority, id) WHERE state = 'pending';

-- Small facts the bot keeps about itself (the generated webhook secret...).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
