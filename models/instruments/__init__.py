"""What happens inside a network while it trains: per-layer readings, unit outputs, activation curves, loss surfaces."""
