"""A bare aiohttp app with one JSON POST handler: the ceiling our sign-up is compared with."""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiohttp import web


async def subscribe(request: web.Request) -> web.Response:
    """Read the JSON body and answer 202, doing nothing else."""
    data = json.loads(await request.read())
    if not isinstance(data, dict):
        return web.json_response({"error": "not an object"}, status=400)
    return web.json_response({"status": "accepted"}, status=202)


async def healthz(request: web.Request) -> web.Response:
    """Answer the readiness probe."""
    return web.json_response({"status": "ok"})


def main() -> None:
    """Serve the bare app with the event loop policy `alerts serve` uses."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    for _ in range(args.processes - 1):
        if os.fork() == 0:
            break
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    app = web.Application()
    app.router.add_post("/api/subscriptions", subscribe)
    app.router.add_get("/healthz", healthz)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        reuse_port=args.processes > 1,
    )


if __name__ == "__main__":
    main()
