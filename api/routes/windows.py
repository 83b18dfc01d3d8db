"""``/api/v1/windows``: list, read, create (or preview), change and delete maintenance windows.

The same service calls as ``nodedesk window ...`` (tui/commands/windowcmd.py): the lock rules,
corrections, backdating and the impact are the service's; the version the client read travels
in ``If-Match`` (ETag), so a save based on an older read is refused with 412.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.downtime import impact as impact_svc
from nodedesk.core.services.downtime import notices
from nodedesk.core.services.downtime import windows as svc
from pydantic import Field

from ..app import ApiDep, presented_token
from .common import (
    DEFAULT_LIMIT,
    INT_MAX,
    MAX_LIMIT,
    Body,
    Text,
    bound,
    etag,
    expected_version,
    instant,
    listing,
    not_modified,
    optional,
)

router = APIRouter(tags=["windows"], dependencies=[Depends(presented_token)])
WindowId = Annotated[int, Path(ge=1, le=INT_MAX, description="the window's id")]
MAX_NAMES = 1000


class ScopeIn(Body):
    """All nodes (nothing named, or ``all_nodes: true``), or the named nodes and node types."""

    all_nodes: bool | None = None
    nodes: list[Text] = Field(default_factory=list, max_length=MAX_NAMES)
    node_types: list[Text] = Field(default_factory=list, max_length=MAX_NAMES)

    def scope(self) -> svc.Scope:
        if self.all_nodes and (self.nodes or self.node_types):
            raise ValidationError("use either all_nodes or nodes/node_types", field="scope")
        return svc.Scope(tuple(self.nodes), tuple(self.node_types))


class WindowIn(Body):
    title: Text
    start: Text = Field(description="YYYY-MM-DD HH:MM (site time) or ISO 8601 with an offset")
    end: Text
    description: Text = ""
    scope: ScopeIn = Field(default_factory=ScopeIn)
    reason: Text = Field("", description="required when the window starts in the past (backdated)")
    dry_run: bool = Field(False, description="check and return the impact; save nothing")


class EmergencyIn(Body):
    """A window declared at once for a failure: it starts now, on the named nodes."""

    scope: ScopeIn = Field(description="the failed nodes (and/or node types); all nodes is refused")
    reason: Text = Field(description="what failed (required); also the description unless one is given")
    duration: Text = Field(svc.EMERGENCY_DURATION, description="how long, e.g. 2h, 90m, 1h30m")
    title: Text = Field("", description="default: the reason")
    description: Text = ""


class WindowPatch(Body):
    """Only the fields given change. An in-progress window may only move its end; a completed
    one is locked unless an admin corrects it (``correct`` with a ``reason``)."""

    title: Text | None = None
    start: Text | None = None
    end: Text | None = None
    description: Text | None = None
    scope: ScopeIn | None = None
    correct: bool = False
    reason: Text = ""
    dry_run: bool = False


def _assessment(ctx: ServiceContext, w: svc.WindowView) -> dict[str, Any]:
    return impact_svc.assess(ctx, w.start, w.end, w.scope, exclude_window_id=w.id).to_json(ctx.tz)


def _saved(ctx: ServiceContext, result: svc.SaveResult, dry_run: bool) -> dict[str, Any]:
    doc = result.window.to_json(ctx.tz) | {
        "impact": [i.to_json(ctx.tz) for i in result.impact],
        "assessment": _assessment(ctx, result.window),
        "drifted_months": result.drifted_months,
        "dry_run": dry_run,
    }
    if dry_run:  # nothing was saved: the id and uuid it got were rolled back
        doc["id"] = doc["uuid"] = None
    return doc


@router.get("/windows", summary="Windows overlapping a range, filtered, one page")
def list_windows(
    request: Request,
    api: ApiDep,
    from_: Annotated[
        str | None, Query(alias="from", description="windows ending after this day/time")
    ] = None,
    to: Annotated[
        str | None, Query(description="windows starting before this day/time (a day: all of it)")
    ] = None,
    status: Annotated[str | None, Query(description="upcoming, in_progress or completed")] = None,
    node: Annotated[str | None, Query(description="windows that take this node down")] = None,
    node_type: Annotated[str | None, Query(description="windows that take nodes of this type down")] = None,
    q: Annotated[str, Query(description="text in title, description or creator")] = "",
    sort: Annotated[str, Query(description="start, end, title, duration, created_by or id")] = "start",
    desc: bool = False,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    filters: dict[str, object] = {
        "from": from_, "to": to, "status": status, "node": node, "node_type": node_type, "q": q
    }
    filters |= {"sort": sort, "desc": desc}

    def fetch(ctx: ServiceContext, offset: int) -> tuple[list[Any], int]:
        result = svc.list_windows(
            ctx,
            svc.WindowQuery(
                status=optional(status, "status"),
                start_from=bound(ctx, from_, "from", end_of_day=False),
                end_before=bound(ctx, to, "to", end_of_day=True),
                node=optional(node, "node"),
                node_type=optional(node_type, "node_type"),
                text=optional(q, "q") or "",
                sort=optional(sort, "sort") or "start",
                descending=desc,
                offset=offset,
                limit=limit,
            ),
        )
        return [w.to_json(ctx.tz) for w in result.items], result.total

    # kept while nothing changed, until some window starts or ends (its status moves)
    return listing(api, request, filters, cursor, limit, fetch, until=lambda ctx: svc.next_status_change(ctx))


@router.get("/windows/{id}", summary="One window (ETag: its version)")
def get_window(
    request: Request,
    api: ApiDep,
    response: Response,
    id: WindowId,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    with api.read(request) as ctx:
        w = svc.get_window(ctx, id)
        doc = w.to_json(ctx.tz) | {"lock_reason": w.lock_reason(ctx.tz)}
    if not_modified(response, if_none_match, w.version):
        return Response(status_code=304, headers={"ETag": etag(w.version)})
    return doc


@router.post("/windows", status_code=201, summary="Create a window, or preview it with dry_run")
def create_window(request: Request, api: ApiDep, response: Response, body: WindowIn) -> dict[str, Any]:
    with api.write(request, dry_run=body.dry_run) as ctx:
        draft = svc.WindowDraft(
            title=body.title,
            start=instant(ctx, body.start, "start"),  # type: ignore[arg-type]
            end=instant(ctx, body.end, "end"),  # type: ignore[arg-type]
            description=body.description,
            scope=body.scope.scope(),
        )
        result = svc.create_window(ctx, draft, reason=body.reason)
        doc = _saved(ctx, result, body.dry_run)
    if body.dry_run:
        response.status_code = 200
    else:
        response.headers["Location"] = f"{request.url.path}/{result.window.id}"
        response.headers["ETag"] = etag(result.window.version)
    return doc


@router.post(
    "/windows/emergency",
    status_code=201,
    summary="Declare an emergency window: starts now; its notices are sent at once when SMTP is configured",
)
def create_emergency_window(
    request: Request, api: ApiDep, response: Response, body: EmergencyIn
) -> dict[str, Any]:
    draft = svc.EmergencyDraft(
        scope=body.scope.scope(),
        reason=body.reason,
        duration=body.duration,
        title=body.title,
        description=body.description,
    )
    with api.write(request) as ctx:
        result = svc.create_emergency_window(ctx, draft)
        doc = _saved(ctx, result, False)
    # After the commit: a mail failure never undoes the window (its notices stay queued).
    mail = notices.send_now(api.runtime, "window", result.window.id, token=request.state.presented)
    response.headers["Location"] = f"{request.url.path.rsplit('/', 1)[0]}/{result.window.id}"
    response.headers["ETag"] = etag(result.window.version)
    return doc | {"notices": mail.to_json()}


@router.patch("/windows/{id}", summary="Change a window (If-Match: the version you read)")
def update_window(
    request: Request,
    api: ApiDep,
    response: Response,
    id: WindowId,
    body: WindowPatch,
    if_match: Annotated[str | None, Header(description="the ETag (version) you read")] = None,
) -> dict[str, Any]:
    version = expected_version(if_match, required=True)
    body.refuse_nulls("title", "start", "end", "description", "scope")
    with api.write(request, dry_run=body.dry_run) as ctx:
        changes = svc.WindowChanges(
            title=body.title if body.title is not None else svc.UNSET,
            description=body.description if body.description is not None else svc.UNSET,
            start=instant(ctx, body.start, "start") if body.start is not None else svc.UNSET,
            end=instant(ctx, body.end, "end") if body.end is not None else svc.UNSET,
            scope=body.scope.scope() if body.scope is not None else svc.UNSET,
        )
        result = svc.update_window(
            ctx, id, changes, expected_version=version, correction=body.correct, reason=body.reason
        )
        doc = _saved(ctx, result, body.dry_run)
    if not body.dry_run:
        response.headers["ETag"] = etag(result.window.version)
    return doc


@router.delete("/windows/{id}", summary="Delete an upcoming window (a locked one: admin correction)")
def delete_window(
    request: Request,
    api: ApiDep,
    id: WindowId,
    correct: bool = False,
    reason: Annotated[str, Query(description="why (required for a correction)")] = "",
    if_match: Annotated[str | None, Header(description="refuse if the window changed since")] = None,
) -> dict[str, Any]:
    version = expected_version(if_match, required=False)
    with api.write(request) as ctx:
        result = svc.delete_window(
            ctx, id, expected_version=version, correction=correct, reason=optional(reason, "reason") or ""
        )
        tz = ctx.tz
    return {
        "deleted": result.window.to_json(tz),
        "impact": [i.to_json(tz) for i in result.impact],
        "drifted_months": result.drifted_months,
    }
