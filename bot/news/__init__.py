"""News processing: sources, fetching, parsing, Arabic text and dates, dedup and summaries.

Nothing in this package knows about Telegram.
"""
