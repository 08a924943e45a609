"""Running Ajil: health and metrics over HTTP (`health`, `metrics`), admin alerts on incidents."""
