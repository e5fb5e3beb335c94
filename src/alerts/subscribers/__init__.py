"""Subscriber services: sign-up, confirmation, preferences, unsubscribe."""
