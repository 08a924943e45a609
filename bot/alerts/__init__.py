"""Breaking alerts: scheduled polling, the outbox, the paced sender, digests and notices."""
