"""Prometheus metrics, all prefixed ajil_, in a registry of their own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "ajil_updates_total", "Telegram updates handled", registry=self.registry
        )
        self.command_seconds = Histogram(
            "ajil_command_seconds",
            "Time to answer a command",
            ["command"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.leader = Gauge(
            "ajil_leader",
            "1 while this worker leads the fleet (polls, digests, sends), else 0",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "ajil_outbox_depth", "Deliveries due and not yet sent", registry=self.registry
        )
        self.outbox_pending = Gauge(
            "ajil_outbox_pending",
            "Deliveries not yet sent, due or waiting for a retry",
            registry=self.registry,
        )
        self.outbox_oldest_seconds = Gauge(
            "ajil_outbox_oldest_pending_seconds",
            "Age of the oldest delivery not yet sent (0 when none)",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "ajil_deliveries_total",
            "Deliveries recorded, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.fetches = Counter(
            "ajil_fetches_total",
            "Source polls, by source and result",
            ["source", "result"],
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "ajil_fetch_seconds",
            "Duration of a source poll",
            ["source"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30),
            registry=self.registry,
        )
        self.push_connected = Gauge(
            "ajil_push_connected",
            "Whether a pusher source's live channel is subscribed (1) or not (0)",
            ["source"],
            registry=self.registry,
        )
        self.pushes = Counter(
            "ajil_pushes_total",
            "Messages pushed on a pusher source's channel, by result",
            ["source", "result"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "ajil_source_last_success_timestamp_seconds",
            "When the source was last read successfully (Unix time)",
            ["source"],
            registry=self.registry,
        )
