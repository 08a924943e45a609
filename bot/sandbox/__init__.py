"""The offline sandbox: a Telegram Bot API emulator (and, later, a sample news site) on 127.0.0.1."""
