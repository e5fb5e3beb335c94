"""The aiohttp application: public pages, JSON API and development outbox."""
