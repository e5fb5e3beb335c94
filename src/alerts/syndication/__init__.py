"""Outgoing feeds: Atom, RSS 2.0, JSON Feed 1.1 and OPML, built from stored articles."""
