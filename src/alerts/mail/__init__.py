"""Mail: what to send is kept apart from rendering and from transport."""
