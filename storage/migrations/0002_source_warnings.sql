-- What a source's last read said about itself when it yielded less than it should ("no
-- headlines found", "page looks like a bot challenge", "urgent block is empty in the page: its
-- script fills it"), and since when it has said so: shown in /sources, an admin incident when
-- it lasts. Both NULL when the last read was complete.
ALTER TABLE sources ADD COLUMN warning TEXT;
ALTER TABLE sources ADD COLUMN warning_since INTEGER;
