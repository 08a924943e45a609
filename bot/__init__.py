"""Ajil's core: configuration, news processing, alerts, the sandbox, the CLI and app wiring."""

__version__ = "0.1.0"
