"""The offline sandbox on 127.0.0.1: a Telegram Bot API emulator, a sample news site and a web
chat, that `ajil demo` and the tests drive the real bot against."""
