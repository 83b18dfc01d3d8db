"""``nodedesk serve``: the HTTP API (help/api.md).

The API package (FastAPI, uvicorn) is imported only when the server starts, so the console's
start never pays for it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from typing import TYPE_CHECKING

from nodedesk.core.clock import ENV_NOW
from nodedesk.core.errors import ValidationError

from .common import positive_int

if TYPE_CHECKING:
    from nodedesk.api.server import ServeOptions

    from . import CliEnv

DEFAULT_BIND = "127.0.0.1:8080"
MAX_WORKERS = 16


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API (see 'nodedesk help api')")
    p.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_BIND}; for other machines, behind a TLS reverse proxy)",
    )
    p.add_argument(
        "--workers", type=positive_int, default=1, help=f"server processes (1-{MAX_WORKERS}, default 1)"
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="IP",
        help="a reverse proxy whose X-Forwarded-For names the client (repeatable); without it the "
        "client is the connecting address",
    )
    p.set_defaults(handler=cmd_serve)


def parse_bind(text: str) -> tuple[str, int]:
    """``ADDRESS:PORT`` or ``[IPv6]:PORT``; an IP address or ``localhost`` (never a name to
    look up)."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    if not sep or not host:
        raise ValidationError(f"{raw[:60]!r} is not HOST:PORT (e.g. {DEFAULT_BIND})", field="bind")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValidationError(
            f"the port must be a number from 1 to 65535 (got {port_text[:20]!r})", field="bind"
        )
    if host != "localhost":
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise ValidationError(
                f"{host[:60]!r} is not an IP address (e.g. 127.0.0.1, 0.0.0.0, [::1]) or localhost",
                field="bind",
            ) from None
    return host, int(port_text)


def _check_listen(host: str, port: int) -> None:
    """Fail now, in one line, if the address cannot be listened on (in use, not ours)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ValidationError(f"cannot resolve {host!r} ({exc})", field="bind") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValidationError(f"cannot listen on {host}:{port}: {exc.strerror}", field="bind") from None


def options_from(args: argparse.Namespace) -> ServeOptions:
    from nodedesk.api.server import ServeOptions

    host, port = parse_bind(args.bind)
    if args.workers > MAX_WORKERS:
        raise ValidationError(f"must be between 1 and {MAX_WORKERS}", field="workers")
    proxies = []
    for raw in args.trusted_proxy:
        try:
            proxies.append(str(ipaddress.ip_network(raw.strip(), strict=False)))
        except ValueError:
            raise ValidationError(
                f"{raw[:60]!r} is not an IP address or network", field="trusted-proxy"
            ) from None
    return ServeOptions(host, port, args.workers, tuple(proxies))


def start_server(options: ServeOptions) -> int:
    from nodedesk.api import server

    return server.run(options)


def cmd_serve(args: argparse.Namespace, env: CliEnv) -> int:
    if os.environ.get(ENV_NOW, "").strip():
        raise ValidationError("the API runs on the real clock; unset it to serve", field=ENV_NOW)
    env.runtime()  # the site exists, is private and its schema is current
    options = options_from(args)
    _check_listen(options.host, options.port)
    env.close()  # the workers open their own connections
    return start_server(options)
