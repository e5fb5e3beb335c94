"""Entry point for the web server: `python server.py` or `alerts serve`."""

from alerts.cli import main

if __name__ == "__main__":
    main(["serve"])
