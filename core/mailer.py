"""SMTP delivery of outbox notices (smtplib + email.message), configured from the environment.

Variables (never stored in the database):
- ``NODEDESK_SMTP_HOST`` (required), ``NODEDESK_SMTP_PORT`` (default 25 / 587 / 465 by security),
- ``NODEDESK_SMTP_SECURITY``: ``none``, ``starttls`` (default) or ``ssl``,
- ``NODEDESK_SMTP_USER`` with ``NODEDESK_SMTP_PASSWORD`` or ``NODEDESK_SMTP_PASSWORD_FILE``
  (a file holding the password; its trailing newline is ignored),
- ``NODEDESK_SMTP_FROM`` (required): the sender address.
A missing or invalid value is refused with one line naming the variable.

Credentials never travel in clear text: with ``NODEDESK_SMTP_SECURITY=none`` a user and
password are refused unless the host is the loopback interface (``localhost``, ``127.0.0.0/8``,
``::1``: a relay on this machine), and the refusal comes before any connection is made
(help/notices.md). :func:`smtp_security_problem` says the same for ``nodedesk doctor``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from .errors import ValidationError

SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
TIMEOUT = 30  # seconds for connecting and for each SMTP command


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)


def _valid_address(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and bool(domain) and "@" not in domain and not any(c.isspace() for c in value)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address, judged from the text alone (no DNS lookup)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credentials_problem(config: SmtpConfig) -> str | None:
    """Why this configuration would send the password in clear text, or ``None``."""
    if config.user and config.security == "none" and not is_loopback(config.host):
        return (
            f"is none, so the SMTP password would cross the network to {config.host} unencrypted; "
            "use starttls or ssl (or a relay on localhost)"
        )
    return None


def smtp_security_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """One line about the SMTP transport's security for ``nodedesk doctor``, or ``None`` when
    it is fine (or SMTP is not configured). A configuration ``notices send`` refuses is
    reported with that refusal; unencrypted mail without credentials to another host is
    allowed but reported (notices then cross the network readable)."""
    env = os.environ if environ is None else environ
    if not env.get("NODEDESK_SMTP_HOST", "").strip():
        return None
    try:
        config = config_from_env(env)
    except ValidationError as exc:
        return str(exc)
    if config.security == "none" and not is_loopback(config.host):
        return (
            f"NODEDESK_SMTP_SECURITY: is none, so notices cross the network to {config.host} "
            "unencrypted; use starttls or ssl"
        )
    return None


def config_from_env(environ: Mapping[str, str] | None = None) -> SmtpConfig:
    env = os.environ if environ is None else environ
    host = env.get("NODEDESK_SMTP_HOST", "").strip()
    if not host:
        raise ValidationError(
            "is not set (the SMTP server to deliver notices through)", field="NODEDESK_SMTP_HOST"
        )
    security = env.get("NODEDESK_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in SECURITY:
        raise ValidationError(f"must be one of {', '.join(SECURITY)}", field="NODEDESK_SMTP_SECURITY")
    port_text = env.get("NODEDESK_SMTP_PORT", "").strip()
    if port_text:
        try:
            port = int(port_text)
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise ValidationError("must be a port number 1-65535", field="NODEDESK_SMTP_PORT")
    else:
        port = DEFAULT_PORTS[security]
    sender = env.get("NODEDESK_SMTP_FROM", "").strip()
    if not sender:
        raise ValidationError("is not set (the sender address of notices)", field="NODEDESK_SMTP_FROM")
    if not _valid_address(sender):
        raise ValidationError(f"{sender!r} is not an email address", field="NODEDESK_SMTP_FROM")
    user = env.get("NODEDESK_SMTP_USER", "").strip()
    password = env.get("NODEDESK_SMTP_PASSWORD", "")
    password_file = env.get("NODEDESK_SMTP_PASSWORD_FILE", "").strip()
    if password and password_file:
        raise ValidationError(
            "set either NODEDESK_SMTP_PASSWORD or NODEDESK_SMTP_PASSWORD_FILE, not both",
            field="NODEDESK_SMTP_PASSWORD_FILE",
        )
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValidationError(
                f"cannot read {password_file!r} ({exc.strerror or exc})", field="NODEDESK_SMTP_PASSWORD_FILE"
            ) from exc
    if password and not user:
        raise ValidationError("is not set but a password is", field="NODEDESK_SMTP_USER")
    if user and not password:
        raise ValidationError(
            "is not set (or use NODEDESK_SMTP_PASSWORD_FILE) but NODEDESK_SMTP_USER is",
            field="NODEDESK_SMTP_PASSWORD",
        )
    config = SmtpConfig(host, port, security, sender, user, password)
    problem = credentials_problem(config)
    if problem:
        raise ValidationError(problem, field="NODEDESK_SMTP_SECURITY")
    return config


@dataclass(frozen=True)
class Outgoing:
    id: int
    uuid: str
    to: str
    subject: str
    body: str
    ics: str = ""


def build_message(config: SmtpConfig, item: Outgoing, *, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = item.to
    msg["Subject"] = item.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<notice-{item.uuid}@nodedesk>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(item.body)
    if item.ics:
        msg.add_attachment(
            item.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="maintenance.ics",
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return msg


@dataclass(frozen=True)
class Outcome:
    errors: dict[int, str]  # notice id -> error text; a notice not listed was sent
    connection_error: str = ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for rcpt, (code, msg) in exc.recipients.items()
        ]
        return "recipient refused: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}".strip()


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT)
        if config.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if config.user:
        client.login(config.user, config.password)
    return client


def deliver(config: SmtpConfig, items: list[Outgoing], *, now: datetime) -> Outcome:
    """Send every item over one connection; each message succeeds or fails on its own. When the
    connection cannot be made (or drops), every unsent item fails with that reason."""
    problem = credentials_problem(config)
    if problem:  # checked again here for a configuration not built by config_from_env
        raise ValidationError(problem, field="NODEDESK_SMTP_SECURITY")
    errors: dict[int, str] = {}
    try:
        client = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"cannot connect to {config.host}:{config.port}: {_describe(exc)}"
        return Outcome({i.id: reason for i in items}, reason)
    connection_error = ""
    try:
        for index, item in enumerate(items):
            try:
                client.send_message(build_message(config, item, now=now))
            except smtplib.SMTPServerDisconnected as exc:
                connection_error = f"connection to {config.host}:{config.port} lost: {_describe(exc)}"
                for rest in items[index:]:
                    errors[rest.id] = connection_error
                break
            except (smtplib.SMTPException, ValueError) as exc:
                errors[item.id] = _describe(exc)
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    client.rset()
            except OSError as exc:
                connection_error = f"connection to {config.host}:{config.port} failed: {_describe(exc)}"
                for rest in items[index:]:
                    errors[rest.id] = connection_error
                break
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return Outcome(errors, connection_error)
