"""Composing what Ajil sends to Telegram so that Telegram accepts it, whatever the input.

- `limits`: Telegram's text and caption lengths, counted as Telegram counts them; cleaning of
  untrusted text; cutting at a word or line boundary with «…», tags balanced after the cut.
- `links`: IRIs made into valid absolute http(s) URIs for buttons and <a href>; others refused.
- `bidi`: left-to-right runs kept as written inside Arabic lines.
- `callbacks`: every button's callback data, packed and parsed in one typed place.

docs/MESSAGES.md gives the rules followed and their sources.
"""
