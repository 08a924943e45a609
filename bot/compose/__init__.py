"""Presentation, in one home: every message Ajil sends is composed here, so that Telegram accepts
it whatever the input, and looks the same wherever it comes from.

- `outgoing`: `Outgoing`, the one shape every text takes (HTML text, buttons, silent, preview),
  made to fit Telegram's rules on construction, and its `Button`.
- `lines`: the pieces of a text: untrusted values escaped as one line, headlines as links,
  lines joined right-to-left in Arabic, the time shown for an item.
- `alerts`: what the sender delivers: alerts, broadcasts, digests, the admins' notices.
- `views`: what the commands show: /start's welcome, /latest, /summary, /search, /sources,
  /settings and its keyboards, /stats, /help, inline results.
- `keyboards`: an `Outgoing`'s buttons and preview as python-telegram-bot objects or Bot API JSON.
- `limits`: Telegram's text and caption lengths, counted as Telegram counts them; cleaning of
  untrusted text; cutting at a word or line boundary with «…», tags balanced after the cut.
- `links`: IRIs made into valid absolute http(s) URIs for buttons and <a href>; others refused.
- `bidi`: left-to-right runs kept as written inside Arabic lines.
- `callbacks`: every button's callback data, packed and parsed in one typed place.

Pure functions of their arguments: nothing here reads storage or the network. Used by the
sender (bot.alerts), bot.reading and the handlers. docs/MESSAGES.md gives the rules followed
and their sources.
"""
