"""Digests: schedule editions, plan recipients with set-based SQL, build and send them."""
