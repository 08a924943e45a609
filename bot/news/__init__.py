"""News processing: sources, fetching, parsing, Arabic text and dates, dedup and summaries.

Nothing in this package knows about Telegram or storage: it takes bytes and configuration and
gives the typed items of `bot.news.models`. The one exception, named in the import contract,
is `ingest`, the watcher's store step, which is to move beside the watcher.
"""
