"""What the editor API views share: authentication, JSON bodies, errors and JSON shapes."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from alerts.digests.editions import EditionStateError, EditionSummary
from alerts.errors import MailError, NotFound, ValidationError
from alerts.models import AuditEntry, Digest, Editor
from alerts.web.auth import editor_api, editor_api_error, require_editor

EditorHandler = Callable[[web.Request, Editor], Awaitable[web.StreamResponse]]
# Ids are 32-bit integers in PostgreSQL; a larger number names nothing.
MAX_ID = 2**31 - 1


class BadRequest(Exception):
    """A request the API cannot read: wrong content type, not JSON, not an object."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def invalid(errors: dict[str, str], message: str = "Some fields are not valid.") -> web.Response:
    """Return a 400 naming each field that is wrong."""
    return web.json_response({"error": message, "status": 400, "fields": errors}, status=400)


def editor_view(handler: EditorHandler) -> Handler:
    """Authenticate the editor, then turn domain errors into JSON answers."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        editor = await require_editor(request)
        try:
            return await handler(request, editor)
        except BadRequest as e:
            return editor_api_error(e.status, e.message)
        except ValidationError as e:
            return invalid(e.errors)
        except NotFound as e:
            return editor_api_error(404, str(e))
        except EditionStateError as e:
            return editor_api_error(409, str(e))
        except MailError as e:
            return editor_api_error(502, f"The mail server did not take the message: {e}")

    return editor_api(wrapped)


async def read_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """Return the JSON object in the body; an empty body is ``{}`` when ``optional``."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise BadRequest(415, "Send JSON with Content-Type: application/json.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(400, "The body is not valid JSON.") from e
    if not isinstance(data, dict):
        raise BadRequest(400, "The body must be a JSON object.")
    return data


def path_id(request: web.Request, name: str = "id") -> int:
    """Return a numeric path parameter, or raise NotFound for one no row can have."""
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise NotFound(f"No edition {value}.")
    return value


def query_limit(request: web.Request, default: int = 50, most: int = 1000) -> int:
    """Return the ``limit`` query parameter, checked."""
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ValidationError({"limit": f"Give a whole number from 1 to {most}."})
    return int(raw)


def iso(when: datetime | None) -> str | None:
    """Return an ISO 8601 UTC timestamp, or None."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def digest_json(digest: Digest, topics: Sequence[str], countries: Sequence[str]) -> dict[str, Any]:
    """Return a digest as the API shows it."""
    return {
        "id": digest.id,
        "slug": digest.slug,
        "name": digest.name,
        "status": digest.status.value,
        "cron": digest.cron,
        "timezone": digest.timezone,
        "send_at": iso(digest.send_at),
        "audience": digest.audience.value,
        "sections": list(digest.sections),
        "group_by": digest.group_by,
        "subject_template": digest.subject_template,
        "intro_markdown": digest.intro_markdown,
        "send_when_empty": digest.send_when_empty,
        "grace_hours": digest.grace_hours,
        "topics": list(topics),
        "countries": list(countries),
        "next_run_at": iso(digest.next_run_at),
        "last_window_end": iso(digest.last_window_end),
        "created_at": iso(digest.created_at),
        "updated_at": iso(digest.updated_at),
    }


def edition_json(summary: EditionSummary) -> dict[str, Any]:
    """Return an edition with its counts as the API shows it."""
    e = summary.edition
    return {
        "id": e.id,
        "digest": summary.digest_slug,
        "digest_id": e.digest_id,
        "status": e.status.value,
        "due_at": iso(e.due_at),
        "window_start": iso(e.window_start),
        "window_end": iso(e.window_end),
        "note": e.note,
        "created_at": iso(e.created_at),
        "started_at": iso(e.started_at),
        "finished_at": iso(e.finished_at),
        "counts": summary.counts,
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """Return an audit entry as the API shows it."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "editor_id": entry.editor_id,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
    }
