"""``/api/v1``: outages, nodes and their timelines, reservations, schedules, impact, invoices,
activity, and who the token acts as. The same service calls as the console's commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.downtime import impact as impact_svc
from nodedesk.core.services.downtime import outages as outage_svc
from nodedesk.core.services.downtime import schedules
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.nodes import inventory, node_status, node_timeline
from nodedesk.core.services.rentals import reservations as reservation_svc
from nodedesk.core.services.views import activity as activity_svc
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
    reader,
)
from .windows import MAX_NAMES, ScopeIn

router = APIRouter(dependencies=[Depends(presented_token)])
OutageId = Annotated[int, Path(ge=1, le=INT_MAX, description="the outage's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
From = Annotated[str | None, Query(alias="from", description="a day or a time (site time)")]
To = Annotated[str | None, Query(description="a day (all of it) or a time")]


# ---------------------------------------------------------------- who am I


@router.get("/me", tags=["service"], summary="The user and token this request acts as")
def me(request: Request, api: ApiDep) -> dict[str, Any]:
    with api.read(request) as ctx:
        actor = ctx.actor
        return {
            "user": actor.username,
            "roles": sorted(actor.roles),
            "token": actor.token,
            "scope": actor.token_scope,
            "timezone": ctx.tz,
            "now": ctx.now().isoformat(),
        }


# ---------------------------------------------------------------- outages


class OutageIn(Body):
    title: Text
    nodes: list[Text] = Field(min_length=1, max_length=MAX_NAMES)
    start: Text
    end: Text | None = Field(None, description="when it was over (the outage is then resolved)")
    etr: Text | None = Field(None, description="estimated time to repair")
    status: Text | None = Field(
        None, description="reported, investigating, identified, monitoring or resolved"
    )
    credit: bool = Field(True, description="false: bill the time anyway")
    description: Text = ""
    correct: bool = Field(False, description="admin correction inside a finalized month (needs reason)")
    reason: Text = ""


class OutagePatch(Body):
    """Only the fields given change; ``etr: null`` clears the ETR."""

    title: Text | None = None
    description: Text | None = None
    nodes: list[Text] | None = Field(None, min_length=1, max_length=MAX_NAMES)
    start: Text | None = None
    end: Text | None = None
    etr: Text | None = None
    status: Text | None = None
    credit: bool | None = None
    correct: bool = False
    reason: Text = ""


@router.get("/outages", tags=["outages"], summary="Outages, newest first, one page")
def list_outages(
    request: Request,
    api: ApiDep,
    open: Annotated[bool, Query(description="only outages not yet resolved")] = False,
    status: str | None = None,
    node: str | None = None,
    from_: From = None,
    to: To = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    filters = {"open": open, "status": status, "node": node, "from": from_, "to": to}

    def fetch(ctx: ServiceContext, offset: int) -> tuple[list[Any], int]:
        result = outage_svc.list_outages(
            ctx,
            outage_svc.OutageQuery(
                open_only=open,
                status=optional(status, "status"),
                node=optional(node, "node"),
                start_from=bound(ctx, from_, "from", end_of_day=False),
                end_before=bound(ctx, to, "to", end_of_day=True),
                offset=offset,
                limit=limit,
            ),
        )
        return [o.to_json(ctx.tz) for o in result.items], result.total

    return listing(api, request, filters, cursor, limit, fetch)


@router.get("/outages/{id}", tags=["outages"], summary="One outage with its ETR history (ETag: version)")
def get_outage(
    request: Request,
    api: ApiDep,
    response: Response,
    id: OutageId,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    with api.read(request) as ctx:
        o = outage_svc.get_outage(ctx, id)
        history = outage_svc.etr_history(ctx, id)
        doc = o.to_json(ctx.tz) | {"etr_history": [h.to_json(ctx.tz) for h in history]}
    if not_modified(response, if_none_match, o.version):
        return Response(status_code=304, headers={"ETag": etag(o.version)})
    return doc


@router.post("/outages", tags=["outages"], status_code=201, summary="Record an outage")
def create_outage(request: Request, api: ApiDep, response: Response, body: OutageIn) -> dict[str, Any]:
    with api.write(request) as ctx:
        draft = outage_svc.OutageDraft(
            title=body.title,
            nodes=tuple(body.nodes),
            start=instant(ctx, body.start, "start"),  # type: ignore[arg-type]
            end=instant(ctx, body.end, "end"),
            etr=instant(ctx, body.etr, "etr"),
            status=body.status,
            credit=body.credit,
            description=body.description,
        )
        result = outage_svc.create_outage(ctx, draft, correction=body.correct, reason=body.reason)
        doc = result.outage.to_json(ctx.tz) | {"drifted_months": result.drifted_months}
    response.headers["Location"] = f"{request.url.path}/{result.outage.id}"
    response.headers["ETag"] = etag(result.outage.version)
    return doc


@router.patch(
    "/outages/{id}", tags=["outages"], summary="Move the status, revise the ETR, resolve (If-Match)"
)
def update_outage(
    request: Request,
    api: ApiDep,
    response: Response,
    id: OutageId,
    body: OutagePatch,
    if_match: Annotated[str | None, Header(description="the ETag (version) you read")] = None,
) -> dict[str, Any]:
    version = expected_version(if_match, required=True)
    body.refuse_nulls("title", "description", "nodes", "start", "status", "credit")
    given = body.model_fields_set
    unset = outage_svc.UNSET
    with api.write(request) as ctx:
        changes = outage_svc.OutageChanges(
            title=body.title if body.title is not None else unset,
            description=body.description if body.description is not None else unset,
            nodes=tuple(body.nodes) if body.nodes is not None else unset,
            start=instant(ctx, body.start, "start") if body.start is not None else unset,
            end=instant(ctx, body.end, "end") if "end" in given else unset,
            etr=instant(ctx, body.etr, "etr") if "etr" in given else unset,
            status=body.status if body.status is not None else unset,
            credit=body.credit if body.credit is not None else unset,
        )
        result = outage_svc.update_outage(
            ctx, id, changes, expected_version=version, correction=body.correct, reason=body.reason
        )
        doc = result.outage.to_json(ctx.tz) | {"drifted_months": result.drifted_months}
    response.headers["ETag"] = etag(result.outage.version)
    return doc


# ---------------------------------------------------------------- nodes


@router.get(
    "/nodes", tags=["nodes"], summary="Every node now: outage/maintenance/rented/free, since, next change"
)
def list_nodes(
    request: Request,
    api: ApiDep,
    node_type: Annotated[str | None, Query(description="only nodes of this type")] = None,
) -> dict[str, Any]:
    with api.read(request) as ctx:
        kind = optional(node_type, "node_type")

        def compute() -> tuple[list[dict[str, Any]], datetime | None]:
            if kind is not None:
                inventory.get_node_type(ctx, kind, field="node_type")  # a filter naming no type is refused
            rows = inventory.list_nodes(ctx, kind)
            found = node_status.node_statuses(ctx, kind)
            statuses = {s.node: s for s in found}
            return [r.to_json() | statuses[r.name].to_json(ctx.tz) for r in rows], node_status.valid_until(
                found, ctx.now()
            )

        # kept while nothing changed, until the first node changes state (core/headmemo.py)
        items = ctx.kept(("nodes", kind, reader(ctx)), compute)
    return {"items": items, "total": len(items)}


@router.get("/nodes/{name}/timeline", tags=["nodes"], summary="One node's segments over a range")
def get_timeline(
    request: Request,
    api: ApiDep,
    name: Annotated[str, Path(max_length=200)],
    from_: From = None,
    to: To = None,
) -> dict[str, Any]:
    with api.read(request) as ctx:
        timeline = node_timeline.node_timeline(
            ctx,
            optional(name, "name") or "",
            bound(ctx, from_, "from", end_of_day=False),
            bound(ctx, to, "to", end_of_day=True),
        )
        return timeline.to_json(ctx.tz)


# ---------------------------------------------------------------- reservations and schedules


@router.get("/reservations", tags=["reservations"], summary="Reservations, filtered, one page")
def list_reservations(
    request: Request,
    api: ApiDep,
    status: Annotated[str | None, Query(description="pending, approved, declined or cancelled")] = None,
    node: str | None = None,
    project: Annotated[str | None, Query(description="the project's title")] = None,
    from_: From = None,
    to: To = None,
    sort: Annotated[str, Query(description="start, end, node, project, status or id")] = "start",
    desc: bool = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    filters: dict[str, object] = {
        "status": status, "node": node, "project": project, "from": from_, "to": to
    }
    filters |= {"sort": sort, "desc": desc}

    def fetch(ctx: ServiceContext, offset: int) -> tuple[list[Any], int]:
        result = reservation_svc.list_reservations(
            ctx,
            reservation_svc.ReservationQuery(
                status=optional(status, "status"),
                node=optional(node, "node"),
                project=optional(project, "project"),
                start_from=bound(ctx, from_, "from", end_of_day=False),
                end_before=bound(ctx, to, "to", end_of_day=True),
                sort=optional(sort, "sort") or "start",
                descending=desc,
                offset=offset,
                limit=limit,
            ),
        )
        return [r.to_json(ctx.tz) for r in result.items], result.total

    return listing(api, request, filters, cursor, limit, fetch)


@router.get("/schedules", tags=["schedules"], summary="Recurring maintenance schedules, one page")
def list_schedules(
    request: Request,
    api: ApiDep,
    q: Annotated[str, Query(description="text in title or description")] = "",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:

    def fetch(ctx: ServiceContext, offset: int) -> tuple[list[Any], int]:
        result = schedules.list_schedules(ctx, text=optional(q, "q") or "", offset=offset, limit=limit)
        return [v.to_json(ctx.tz) for v in result.items], result.total

    return listing(api, request, {"q": q}, cursor, limit, fetch)


# ---------------------------------------------------------------- impact


class ImpactIn(Body):
    start: Text
    end: Text
    scope: ScopeIn = Field(default_factory=ScopeIn)
    window: int | None = Field(
        None,
        ge=1,
        le=INT_MAX,
        description="the proposal moves this window: its current version is not counted",
    )


@router.post("/impact", tags=["windows"], summary="Who a proposed window hits (reads only)")
def impact(request: Request, api: ApiDep, body: ImpactIn) -> dict[str, Any]:
    with api.read(request) as ctx:
        if body.window is not None:
            window_svc.get_window(ctx, body.window)  # a clear error for an unknown id
        assessment = impact_svc.assess(
            ctx,
            instant(ctx, body.start, "start"),  # type: ignore[arg-type]
            instant(ctx, body.end, "end"),  # type: ignore[arg-type]
            body.scope.scope(),
            exclude_window_id=body.window,
        )
        return assessment.to_json(ctx.tz)


# ---------------------------------------------------------------- invoices and activity


@router.get(
    "/invoices/{period}",
    tags=["invoices"],
    summary="A month's invoice: draft (live) or finalized, with its digest",
)
def get_invoice(
    request: Request,
    api: ApiDep,
    period: Annotated[str, Path(max_length=20, description="YYYY-MM")],
    project: Annotated[str | None, Query(description="only this project's part")] = None,
) -> dict[str, Any]:
    with api.read(request) as ctx:
        inv = invoices.compute_invoice(
            ctx, optional(period, "period") or "", project=optional(project, "project")
        )
        return inv.to_json()


@router.get("/activity", tags=["activity"], summary="The activity log, newest first, one page")
def list_activity(
    request: Request,
    api: ApiDep,
    action: Annotated[
        str, Query(description="an action id, e.g. window.created (a prefix 'window.' works)")
    ] = "",
    actor: str = "",
    target: Annotated[str, Query(description="window:12, window:<uuid> or window")] = "",
    q: str = "",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    filters = {"action": action, "actor": actor, "target": target, "q": q}

    def fetch(ctx: ServiceContext, offset: int) -> tuple[list[Any], int]:
        result = activity_svc.list_activity(
            ctx,
            activity_svc.ActivityQuery(
                action=optional(action, "action") or "",
                actor=optional(actor, "actor") or "",
                target=optional(target, "target") or "",
                text=optional(q, "q") or "",
                offset=offset,
                limit=limit,
            ),
        )
        return [e.to_json(ctx.tz) for e in result.items], result.total

    return listing(api, request, filters, cursor, limit, fetch)
