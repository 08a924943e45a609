"""Breaking alerts: scheduled polling (`watcher`), the durable outbox's one paced sender
(`sender`, `pacing`) and its Bot API client (`botapi`), digests and notices.

What an alert, a digest or a notice says is composed in `bot.compose.alerts`.
"""
