"""The fleet's members and who polls which source: leases in the `leases` table.

Each `ajil run` keeps a membership lease, `member:<worker>`, renewed every few seconds: the
live members are the rows that have not expired. Each polled source has a poll lease,
`poll:<source name>`, held by the one worker that polls it; a worker takes a source's lease
only when nobody holds it, when it is its own, or when the holder's lease has expired, in
one conditional upsert (the statement of storage.leases, many rows at once), so two workers
can never both hold it. Which worker should hold which source is decided by the caller
(bot.sharing: rendezvous hashing over the live members); these rows are the fence that makes
"exactly one at a time" hold while the members' views of the fleet differ for a moment.

Times are epoch seconds from the callers' clocks (see storage.leases).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from storage.database import Database

MEMBER = "member:"
POLL = "poll:"
# Rows per statement: five parameters each, far below every SQLite build's limit.
_CHUNK = 200


def _like(prefix: str) -> str:
    # The prefixes hold no LIKE wildcard (% or _); what follows them is any name.
    return prefix + "%"


async def beat(db: Database, worker: str, now: int, ttl: int) -> list[str]:
    """Renew (or start) `worker`'s membership until `now + ttl`, and return the live members
    at `now` (sorted, `worker` among them): one transaction. Memberships expired for over a
    minute are deleted on the way (a fleet restarted often would leave many)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO leases (name, holder, previous, expires_at, since)"
            " VALUES (:name, :holder, NULL, :expires, :now)"
            " ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at,"
            "  holder = excluded.holder",
            {"name": MEMBER + worker, "holder": worker, "expires": now + ttl, "now": now},
        )
        await conn.execute(
            "DELETE FROM leases WHERE name LIKE ? AND expires_at < ?",
            (_like(MEMBER), now - 60),
        )
        cursor = await conn.execute(
            "SELECT holder FROM leases WHERE name LIKE ? AND expires_at > ? ORDER BY holder",
            (_like(MEMBER), now),
        )
        return [str(row[0]) for row in await cursor.fetchall()]


async def leave(db: Database, worker: str) -> None:
    """End `worker`'s membership and give its poll leases up at once (a clean stop): the
    others take its sources without waiting them out."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM leases WHERE name = ?", (MEMBER + worker,))
        await conn.execute(
            "UPDATE leases SET expires_at = 0 WHERE holder = ? AND name LIKE ?",
            (worker, _like(POLL)),
        )


async def hold(
    db: Database,
    worker: str,
    sources: Sequence[str],
    now: int,
    ttl: int,
    gone: Collection[str] = (),
) -> set[str]:
    """Take or renew the poll leases of `sources` for `worker` until `now + ttl`; returns the
    names it holds now. A source is taken when nobody holds it, when `worker` already does,
    when its holder's lease has expired, or when its holder is in `gone` (workers known to be
    dead: their process has ended on this machine). Renewing a lease keeps its `since`."""
    held: set[str] = set()
    gone_list = sorted(gone)
    dead = ",".join("?" * len(gone_list))
    taken_from_dead = f" OR leases.holder IN ({dead})" if gone_list else ""
    async with db.transaction() as conn:
        for start in range(0, len(sources), _CHUNK):
            chunk = sources[start : start + _CHUNK]
            values = ",".join(["(?, ?, NULL, CAST(? AS INTEGER), CAST(? AS INTEGER))"] * len(chunk))
            parameters: list[object] = []
            for name in chunk:
                parameters += [POLL + name, worker, now + ttl, now]
            cursor = await conn.execute(
                "INSERT INTO leases (name, holder, previous, expires_at, since)"
                f" VALUES {values}"
                " ON CONFLICT (name) DO UPDATE SET"
                "  previous = CASE WHEN leases.holder = excluded.holder THEN leases.previous"
                "             ELSE leases.holder END,"
                "  since = CASE WHEN leases.holder = excluded.holder THEN leases.since"
                "          ELSE excluded.since END,"
                "  holder = excluded.holder,"
                "  expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= CAST(? AS INTEGER)"
                f"{taken_from_dead}"
                " RETURNING name",
                [*parameters, now, *gone_list],
            )
            held.update(str(row[0])[len(POLL) :] for row in await cursor.fetchall())
    return held


async def release(db: Database, worker: str, sources: Collection[str]) -> None:
    """Give up `worker`'s poll leases of `sources` at once (it no longer polls them)."""
    names = [POLL + name for name in sources]
    async with db.transaction() as conn:
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            await conn.execute(
                f"UPDATE leases SET expires_at = 0 WHERE holder = ? AND name IN ({marks})",
                [worker, *chunk],
            )


async def pollers(db: Database, now: int) -> dict[str, str]:
    """Who polls each source at `now`: {source name: worker}, for the sources whose poll lease
    is held (`ajil` operators and the tests read it)."""
    cursor = await db.reader.execute(
        "SELECT name, holder FROM leases WHERE name LIKE ? AND expires_at > ?",
        (_like(POLL), now),
    )
    return {
        str(row[0])[len(POLL) :]: str(row[1])
        for row in await cursor.fetchall()
        if str(row[0]).startswith(POLL)
    }


async def live(db: Database, now: int) -> list[str]:
    """The workers whose membership has not expired at `now`, sorted (a read: for operators
    and tests; a member learns the fleet from `beat`)."""
    cursor = await db.reader.execute(
        "SELECT holder FROM leases WHERE name LIKE ? AND expires_at > ? ORDER BY holder",
        (_like(MEMBER), now),
    )
    return [str(row[0]) for row in await cursor.fetchall()]
