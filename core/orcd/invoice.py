"""An ORCD invoice month as the plugin reports it, read from the JSON its invoice API returns.

``GET /nodes/api/invoice/YYYY/MM/`` gives per project: reservation lines (hours in the month, no
price), account maintenance (AMF) and QoS fee entries (rate and fraction of the month). The web
view's "Export JSON" is the same document with a ``maintenance_deduction`` per reservation line
(the plugin's web view deducts maintenance, its API does not). Both are read here into plain,
typed data; anything malformed is one line naming the JSON path and the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..backup.jsonstream import NotPlainFile, open_plain
from ..errors import ValidationError

CENT = Decimal("0.01")
UNKNOWN = "UNKNOWN"  # the plugin's cost object for days without an approved allocation
MAX_INVOICE_BYTES = 256 * 1024 * 1024


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class OrcdReservationLine:
    reservation_id: int
    project: str  # the project the plugin lists the line under
    owner: str
    node: str
    sku: str | None
    start_date: date
    start: datetime  # naive site wall clock, as the plugin computes it (16:00 on the start date)
    end: datetime
    hours: Decimal  # hours_in_month (after the plugin's own hours override)
    excluded: bool
    cost_breakdown: tuple[tuple[str, Decimal], ...]  # (cost object, hours)
    maintenance_deduction: Decimal | None = None  # the web view's figure; None from the API
    override: str = ""  # the plugin's override type label, "" if none

    @property
    def billed_hours(self) -> Decimal:
        """What the plugin charges: its hours, less its own maintenance deduction (web view)."""
        if self.excluded:
            return Decimal(0)
        return max(Decimal(0), self.hours - (self.maintenance_deduction or Decimal(0)))


@dataclass(frozen=True)
class OrcdFeeLine:
    kind: str  # "amf" | "qos"
    project: str
    owner: str
    user: str
    sku: str
    rate: Decimal | None
    days: int
    days_in_month: int
    fraction: Decimal
    cost_breakdown: tuple[tuple[str, Decimal], ...]  # (cost object, percent)
    start: str = ""  # activated_at (AMF) or start_date (QoS), as written

    @property
    def amount(self) -> Decimal:
        """rate × billed days ÷ days in the month, to the cent (the plugin's own fields)."""
        if self.rate is None or self.days_in_month <= 0:
            return Decimal("0.00")
        return money(self.rate * self.days / self.days_in_month)


@dataclass(frozen=True)
class OrcdInvoice:
    period: str  # YYYY-MM
    status: str  # the plugin's display: "Draft" or "Finalized"
    source: str  # "api" (no maintenance deducted) or "web" (the web view's export)
    reservations: tuple[OrcdReservationLine, ...]
    fees: tuple[OrcdFeeLine, ...]


class InvoiceFileError(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="invoice")


class _Reader:
    def __init__(self) -> None:
        self.path: list[str] = []

    def fail(self, rule: str) -> InvoiceFileError:
        where = "".join(self.path) or "the document"
        return InvoiceFileError(f"{where} {rule} (not an ORCD invoice as its API returns it)")

    def at(self, doc: dict[str, Any], key: str) -> Any:
        if key not in doc:
            self.path.append(f".{key}")
            raise self.fail("is missing")
        return doc[key]

    def obj(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail("must be a JSON object")
        return value

    def lst(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail("must be a list")
        return value

    def text(self, doc: dict[str, Any], key: str, *, optional: bool = False) -> str:
        value = doc.get(key) if optional else self.at(doc, key)
        if value is None and optional:
            return ""
        if not isinstance(value, str):
            self.path.append(f".{key}")
            raise self.fail("must be text")
        return value

    def integer(self, doc: dict[str, Any], key: str) -> int:
        value = self.at(doc, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.path.append(f".{key}")
            raise self.fail("must be a whole number")
        return value

    def number(self, doc: dict[str, Any], key: str, *, optional: bool = False) -> Decimal | None:
        value = doc.get(key) if optional else self.at(doc, key)
        if value is None and optional:
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise InvalidOperation
            parsed = Decimal(str(value))
            if not parsed.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.path.append(f".{key}")
            raise self.fail("must be a number") from None
        return parsed

    def flag(self, doc: dict[str, Any], key: str) -> bool:
        value = self.at(doc, key)
        if not isinstance(value, bool):
            self.path.append(f".{key}")
            raise self.fail("must be true or false")
        return value

    def day(self, doc: dict[str, Any], key: str) -> date:
        value = self.text(doc, key)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.path.append(f".{key}")
            raise self.fail("must be a date YYYY-MM-DD") from None

    def wall(self, doc: dict[str, Any], key: str) -> datetime:
        value = self.text(doc, key)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is not None:
            self.path.append(f".{key}")
            raise self.fail("must be a wall-clock time YYYY-MM-DDTHH:MM:SS without offset")
        return parsed

    def breakdown(self, doc: dict[str, Any], value_key: str) -> tuple[tuple[str, Decimal], ...]:
        items = self.lst(self.at(doc, "cost_breakdown"))
        out = []
        for i, item in enumerate(items):
            self.path.append(f".cost_breakdown[{i}]")
            entry = self.obj(item)
            number = self.number(entry, value_key)
            assert number is not None
            out.append((self.text(entry, "cost_object"), number))
            self.path.pop()
        return tuple(out)


def parse_invoice(doc: Any) -> OrcdInvoice:
    """An invoice document (already parsed JSON) → :class:`OrcdInvoice`."""
    r = _Reader()
    top = r.obj(doc)
    r.path.append(".metadata")
    meta = r.obj(r.at(top, "metadata"))
    year, month = r.integer(meta, "year"), r.integer(meta, "month")
    if not (1970 <= year <= 2999 and 1 <= month <= 12):
        raise r.fail(f"names month {year}-{month}, which is not a month")
    status = r.text(meta, "invoice_status", optional=True) or "Draft"
    r.path.pop()
    reservations: list[OrcdReservationLine] = []
    fees: list[OrcdFeeLine] = []
    web = False
    for pi, raw_project in enumerate(r.lst(r.at(top, "projects"))):
        r.path.append(f".projects[{pi}]")
        project = r.obj(raw_project)
        title = r.text(project, "project_title")
        owner = r.text(project, "project_owner", optional=True)
        for li, raw in enumerate(r.lst(project.get("reservations", []))):
            r.path.append(f".reservations[{li}]")
            line = r.obj(raw)
            deduction = r.number(line, "maintenance_deduction", optional=True)
            web = web or "maintenance_deduction" in line
            override = line.get("override")
            hours = r.number(line, "hours_in_month")
            assert hours is not None
            reservations.append(
                OrcdReservationLine(
                    reservation_id=r.integer(line, "reservation_id"),
                    project=title,
                    owner=owner,
                    node=r.text(line, "node"),
                    sku=r.text(line, "sku_code", optional=True) or None,
                    start_date=r.day(line, "start_date"),
                    start=r.wall(line, "start_datetime"),
                    end=r.wall(line, "end_datetime"),
                    hours=hours,
                    excluded=r.flag(line, "excluded"),
                    cost_breakdown=r.breakdown(line, "hours"),
                    maintenance_deduction=deduction,
                    override=str(override.get("type", "")) if isinstance(override, dict) else "",
                )
            )
            r.path.pop()
        for kind, key in (("amf", "amf_entries"), ("qos", "qos_entries")):
            for li, raw in enumerate(r.lst(project.get(key, []))):
                r.path.append(f".{key}[{li}]")
                entry = r.obj(raw)
                fraction = r.number(entry, "fraction")
                assert fraction is not None
                fees.append(
                    OrcdFeeLine(
                        kind=kind,
                        project=title,
                        owner=owner,
                        user=r.text(entry, "username"),
                        sku=r.text(entry, "sku_code"),
                        rate=r.number(entry, "rate", optional=True),
                        days=r.integer(entry, "billable_days"),
                        days_in_month=r.integer(entry, "days_in_month"),
                        fraction=fraction,
                        cost_breakdown=r.breakdown(entry, "percentage"),
                        start=r.text(entry, "activated_at" if kind == "amf" else "start_date", optional=True),
                    )
                )
                r.path.pop()
        r.path.pop()
    return OrcdInvoice(
        period=f"{year:04d}-{month:02d}",
        status=status,
        source="web" if web else "api",
        reservations=tuple(reservations),
        fees=tuple(fees),
    )


def read_invoice_file(path: str | Path) -> OrcdInvoice:
    """Read and parse an invoice JSON file (a regular file, never a link)."""
    target = Path(path).expanduser()
    try:
        with open_plain(target) as fh:
            data = fh.read(MAX_INVOICE_BYTES + 1)
    except NotPlainFile as exc:
        raise InvoiceFileError(str(exc)) from None
    except FileNotFoundError:
        raise InvoiceFileError(f"{str(target)!r} does not exist") from None
    except IsADirectoryError:
        raise InvoiceFileError(f"{str(target)!r} is a directory, not an invoice JSON file") from None
    except OSError as exc:
        raise InvoiceFileError(f"{str(target)!r} cannot be read ({exc.strerror})") from None
    if len(data) > MAX_INVOICE_BYTES:
        raise InvoiceFileError(f"{str(target)!r} is larger than {MAX_INVOICE_BYTES // (1024 * 1024)} MiB")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvoiceFileError(f"{str(target)!r} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvoiceFileError(
            f"{str(target)!r} is not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    return parse_invoice(doc)
