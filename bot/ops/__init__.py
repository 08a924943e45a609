"""Running Ajil: health and metrics over HTTP, admin alerts on incidents, webhook secrets."""
