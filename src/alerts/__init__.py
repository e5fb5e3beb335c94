"""Stay in the loop: newsletters and alerts for human-rights organisations."""

__version__ = "0.1.0"
