"""Mutants of the outbox's SQL, which a Python mutation tester cannot make.

mutmut (see docs/TESTING.md) mutates Python: inside a SQL string it only garbles the whole text,
which any test kills. The promises of the outbox live in its SQL clauses (one alert per story
and chat, levels, sources, keywords, quiet hours, what a claim takes, what an outcome writes),
so each mutant below changes one clause the way a slip would, in a copy of the tree, and runs
the chosen tests there. A mutant survives when every test still passes.

    .venv/bin/python bench/sql_mutants.py [--rev=COMMIT] [--only=NAME_PREFIX] [TEST_FILE ...]

--rev takes the tree (code and tests) of a commit instead of the working files: how the figures
"before" in docs/TESTING.md were made. Default tests: tests/test_outbox_promises.py
tests/test_fanout.py tests/test_broadcast_fanout.py tests/test_storage.py tests/test_alerts.py
tests/test_fleet.py.
Prints one line per mutant and the score; exits 1 when a mutant survives. Slow (one pytest run
per mutant): a run by hand, never in CI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTBOX = "storage/outbox.py"
FANOUT = "storage/fanout.py"
LEASES = "storage/leases.py"
SESSIONS = "storage/sessions.py"
DEFAULT_TESTS = [
    "tests/test_outbox_promises.py",
    "tests/test_fanout.py",
    "tests/test_broadcast_fanout.py",
    "tests/test_storage.py",
    "tests/test_alerts.py",
    "tests/test_fleet.py",
]

# (name, file, text, replacement): each text occurs exactly once in its file.
MUTANTS: list[tuple[str, str, str, str]] = [
    # enqueue_alert (storage/fanout.py): one alert per story and chat
    (
        "story clause off",
        FANOUT,
        "AND d.created_at >= :since) = 0",
        "AND d.created_at >= :since) >= 0",
    ),
    (
        "story: any chat",
        FANOUT,
        "WHERE d.chat_id = s.chat_id AND d.item_id IN",
        "WHERE d.item_id IN",
    ),
    ("story: window edge", FANOUT, "d.created_at >= :since", "d.created_at > :since"),
    ("story: no window", FANOUT, "d.created_at >= :since", "d.created_at >= 0"),
    ("story: first item only", FANOUT, "WHERE id = ? OR story_id = ?", "WHERE id = ? OR 0 = ?"),
    (
        "story: duplicates only",
        FANOUT,
        "WHERE id = ? OR story_id = ?",
        "WHERE 0 = ? OR story_id = ?",
    ),
    ("story: window length", FANOUT, '"since": stamp - alert.story_window', '"since": stamp'),
    (
        "story: a first item's walk ignores its later items",
        FANOUT,
        "story_id=item_id if story_id is None else story_id",
        "story_id=-1 if story_id is None else story_id",
    ),
    # enqueue_alert: who gets the item
    ("inactive chats too", FANOUT, "AND s.active = 1 AND s.alert_level", "AND s.alert_level"),
    ("one level only", FANOUT, "IN (:level_a, :level_b)", "IN (:level_a, :level_a)"),
    (
        "ordinary items to 'urgent'",
        FANOUT,
        'levels = ("urgent", "all") if alert.urgent else ("all",)',
        'levels = ("urgent", "all")',
    ),
    (
        "priority flipped",
        FANOUT,
        '"priority": 0 if alert.urgent else 1',
        '"priority": 1 if alert.urgent else 0',
    ),
    ("source switch ignored", FANOUT, "AND ss.enabled = 0)", "AND ss.enabled = 1)"),
    (
        "any source switched off",
        FANOUT,
        "ss.chat_id = s.chat_id AND ss.source_id = :source AND",
        "ss.chat_id = s.chat_id AND",
    ),
    ("keyword at the start missed", FANOUT, "instr(:text, f.word) > 0", "instr(:text, f.word) > 1"),
    ("keywords ignored", FANOUT, "WHERE f.chat_id = s.chat_id AND instr", "WHERE instr"),
    (
        "keywords: a chat without any skipped",
        FANOUT,
        "FROM subscriber_filters f WHERE f.chat_id = s.chat_id) = 0",
        "FROM subscriber_filters f WHERE f.chat_id = s.chat_id) < 0",
    ),
    (
        "quiet to digest always",
        FANOUT,
        "WHERE NOT (q.quiet = 1 AND q.quiet_to_digest = 1)",
        "WHERE NOT (q.quiet_to_digest = 1)",
    ),
    (
        "quiet start excluded",
        FANOUT,
        "AND :minute >= s.quiet_start AND",
        "AND :minute > s.quiet_start AND",
    ),
    ("quiet end included", FANOUT, "AND :minute < s.quiet_end)", "AND :minute <= s.quiet_end)"),
    (
        "quiet over midnight",
        FANOUT,
        "(:minute >= s.quiet_start OR :minute < s.quiet_end)",
        "(:minute >= s.quiet_start AND :minute < s.quiet_end)",
    ),
    (
        "empty quiet hours",
        FANOUT,
        "(s.quiet_start < s.quiet_end AND",
        "(s.quiet_start <= s.quiet_end AND",
    ),
    (
        "quiet end not wrapped",
        FANOUT,
        "((q.quiet_end - CAST(:minute AS INTEGER) + 1440) % 1440)",
        "(q.quiet_end - CAST(:minute AS INTEGER))",
    ),
    ("quiet end mid-minute", FANOUT, '"minute_start": stamp - stamp % 60', '"minute_start": stamp'),
    # the fan-out's batches
    (
        "cursor does not move",
        FANOUT,
        "SET after_chat = ? WHERE item_id = ? AND after_chat = ?{fence}",
        "SET after_chat = after_chat + 0 * ? WHERE item_id = ? AND after_chat = ?{fence}",
    ),
    (
        "walk: not fenced",
        FANOUT,
        "else \" AND EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = ?\"",
        "else \" AND 1 OR EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = ?\"",
    ),
    (
        "walk: fenced past the lease",
        FANOUT,
        '" AND expires_at > ?)"',
        '" AND expires_at > ? - 60)"',
    ),
    (
        "batch not bounded",
        FANOUT,
        'bound = "AND s.chat_id <= :upto"',
        'bound = ""',
    ),
    (
        "walk not urgent first",
        FANOUT,
        "ORDER BY 3 DESC, 4, 1, 2 LIMIT 1",
        "ORDER BY 4, 1, 2 LIMIT 1",
    ),
    (
        "batches not spaced",
        FANOUT,
        "return queue_at + max(1, round(added * 1000 / rate))",
        "return queue_at",
    ),
    # claim_due
    (
        "claim: not yet due",
        OUTBOX,
        "WHERE state = 'pending' AND not_before <= :now\"",
        "WHERE state = 'pending' AND not_before < :now\"",
    ),
    (
        "claim: any state",
        OUTBOX,
        " SELECT id FROM deliveries WHERE state = 'pending' AND",
        " SELECT id FROM deliveries WHERE",
    ),
    (
        "claim: urgent not first",
        OUTBOX,
        "ORDER BY priority, queue_at, id LIMIT :limit",
        "ORDER BY queue_at, id LIMIT :limit",
    ),
    (
        "claim: newest first",
        OUTBOX,
        "ORDER BY priority, queue_at, id LIMIT :limit",
        "ORDER BY priority, queue_at, id DESC LIMIT :limit",
    ),
    (
        "claim: alerts not in turns",
        OUTBOX,
        "ORDER BY priority, queue_at, id LIMIT :limit",
        "ORDER BY priority, id LIMIT :limit",
    ),
    (
        "claim: returned not in turns",
        OUTBOX,
        "ORDER BY d.priority, d.queue_at, d.id",
        "ORDER BY d.priority, d.id",
    ),
    (
        "claim: left pending",
        OUTBOX,
        "SET state = 'sending', claimed_by",
        "SET state = 'pending', claimed_by",
    ),
    # record_outcomes
    ("outcome: message id lost", OUTBOX, "message_id = coalesce(?, message_id)", "message_id = ?"),
    ("outcome: retry time lost", OUTBOX, "not_before = coalesce(?, not_before)", "not_before = ?"),
    (
        "outcome: error not written",
        OUTBOX,
        "SET state = ?, attempts = ?, last_error = ?,",
        "SET state = ?, attempts = ?, last_error = last_error || ?,",
    ),
    # requeue_claims, break_item, pending_count, outcomes_since, enqueue_notice
    (
        "requeue: sent too",
        OUTBOX,
        "SET state = 'pending' WHERE state = 'sending'\"",
        "SET state = 'pending' WHERE state IN ('sending', 'sent')\"",
    ),
    (
        "requeue: a live worker's too",
        OUTBOX,
        " AND (claimed_by IS NULL OR claim_expires_at IS NULL OR claim_expires_at <= ?",
        " AND (1 OR claimed_by IS NULL OR claim_expires_at IS NULL OR claim_expires_at <= ?",
    ),
    (
        "requeue: expired claims kept",
        OUTBOX,
        'claim_expires_at <= ?"',
        'claim_expires_at < 0"',
    ),
    (
        "claim: not fenced",
        OUTBOX,
        " AND EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = :worker\"",
        " AND 1 OR EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = :worker\"",
    ),
    (
        "outcome: not fenced",
        OUTBOX,
        'fence = "" if worker is None else " AND claimed_by = ?"',
        'fence = "" if worker is None else " AND (1 OR claimed_by = ?)"',
    ),
    (
        "break: in flight kept",
        OUTBOX,
        " WHERE state IN ('pending', 'sending') AND {which}\"",
        " WHERE state IN ('pending') AND {which}\"",
    ),
    (
        "break: other items",
        OUTBOX,
        'return await _break(db, "item_id = ?"',
        'return await _break(db, "item_id >= ?"',
    ),
    ("break: reason uncut", OUTBOX, "(reason[:300], now, *args)", "(reason, now, *args)"),
    (
        "break: fan-out walked on",
        OUTBOX,
        'await conn.execute("DELETE FROM fanouts WHERE item_id = ?", (item_id,))',
        "pass",
    ),
    (
        "backlog: sending left out",
        OUTBOX,
        "WHERE state IN ('pending', 'sending') AND not_before <= ?",
        "WHERE state = 'pending' AND not_before <= ?",
    ),
    (
        "backlog: edge",
        OUTBOX,
        "WHERE state IN ('pending', 'sending') AND not_before <= ?",
        "WHERE state IN ('pending', 'sending') AND not_before < ?",
    ),
    (
        "stats window edge",
        OUTBOX,
        "WHERE updated_at >= ? GROUP BY state",
        "WHERE updated_at > ? GROUP BY state",
    ),
    (
        "notice to inactive chats",
        FANOUT,
        'f" WHERE chat_id > ?{bound} AND active = 1"',
        'f" WHERE chat_id > ?{bound}"',
    ),
    # a broadcast's fan-out (storage/fanout.py's notice_fanouts)
    (
        "broadcast: cursor does not move",
        FANOUT,
        '"UPDATE notice_fanouts SET after_chat = ?"',
        '"UPDATE notice_fanouts SET after_chat = after_chat + 0 * ?"',
    ),
    (
        "broadcast: cursor past the batch",
        FANOUT,
        "(upto, notice_id, after, *fenced)",
        "(upto + 1, notice_id, after, *fenced)",
    ),
    (
        "broadcast: no cursor kept",
        FANOUT,
        '        if more:\n            await conn.execute(\n                "INSERT INTO notice_fanouts"',
        '        if more and False:\n            await conn.execute(\n                "INSERT INTO notice_fanouts"',
    ),
]

MUTANTS += [
    # the leader lease
    (
        "lease: taken before it ends",
        LEASES,
        "OR leases.expires_at <= :now",
        "OR leases.expires_at <= :now + 1",
    ),
    ("lease: never taken over", LEASES, "OR leases.expires_at <= :now", "OR 0"),
    (
        "lease: previous holder lost",
        LEASES,
        "             ELSE leases.holder END,",
        "             ELSE NULL END,",
    ),
    (
        "lease: release anyone's",
        LEASES,
        "expires_at = 0 WHERE name = ? AND holder = ?",
        "expires_at = 0 WHERE name = ? OR holder = ?",
    ),
    # the command pace
    (
        "pace: refused ones count",
        SESSIONS,
        "THEN command_pace.due_at ELSE {due} + :step",
        "THEN {due} + :step ELSE {due} + :step",
    ),
    (
        "pace: one more in the burst",
        SESSIONS,
        '"({due} - :now > :tolerance)"',
        '"({due} - :now > :tolerance + :step)"',
    ),
    (
        "pace: warned every time",
        SESSIONS,
        "OR command_pace.warned_at <= :warned_before",
        "OR 1 = 1",
    ),
]

# Mutants that behave exactly as the code does, and why; they are run all the same.
EQUIVALENT = {
    "empty quiet hours": "with quiet_start = quiet_end, `:minute >= start AND :minute < end` is"
    " false whether the first test is < or <=, so equal bounds are never quiet either way",
}


def _copy_tree(target: Path, rev: str | None) -> None:
    if rev:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return
    skip = shutil.ignore_patterns(".venv", ".git", "mutants", "__pycache__", "*.db*", ".*_cache")
    for name in ("bot", "storage", "handlers", "tests", "bench"):
        shutil.copytree(ROOT / name, target / name, ignore=skip)
    for name in ("pyproject.toml", "config.example.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)


def main(argv: list[str]) -> int:
    rev = next((a.removeprefix("--rev=") for a in argv if a.startswith("--rev=")), None)
    only = next((a.removeprefix("--only=") for a in argv if a.startswith("--only=")), "")
    tests = [a for a in argv if not a.startswith("--")] or DEFAULT_TESTS
    mutants = [m for m in MUTANTS if m[0].startswith(only)]
    survivors = 0
    with tempfile.TemporaryDirectory(prefix="ajil-sql-mutants-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree, rev)
        for name, file, text, replacement in mutants:
            path = tree / file
            original = path.read_text(encoding="utf-8")
            if original.count(text) != 1:
                print(f"?? {name}: the text is not found exactly once in {file}")
                return 2
            path.write_text(original.replace(text, replacement), encoding="utf-8")
            try:
                run = subprocess.run(
                    [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                    cwd=tree,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
            finally:
                path.write_text(original, encoding="utf-8")
            killed = run.returncode != 0
            survivors += not killed and name not in EQUIVALENT
            failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED ")]
            why = f"  by {failed[0].removeprefix('FAILED ').split(' - ')[0]}" if failed else ""
            if not killed and name in EQUIVALENT:
                why = f"  (equivalent: {EQUIVALENT[name]})"
            verdict = "killed " if killed else "same   " if name in EQUIVALENT else "SURVIVED"
            print(f"{verdict} {name}{why}", flush=True)
    total = len(mutants) - len({m[0] for m in mutants} & EQUIVALENT.keys())
    print(
        f"{total - survivors}/{total} killed ({100 * (total - survivors) / total:.0f} %),"
        f" {len(mutants) - total} equivalent"
    )
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
