"""Running the API: uvicorn with nodedesk's logging (one line per request, help/api.md)."""

from __future__ import annotations

import signal
from dataclasses import dataclass

import uvicorn

APP_FACTORY = "nodedesk.api.app:app_from_env"
GRACEFUL_SHUTDOWN_S = 10


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int = 1
    trusted_proxies: tuple[str, ...] = ()


def log_config() -> dict[str, object]:
    """Server and request lines on standard error (journald keeps them under systemd); the
    request line is nodedesk's own (api/access.py), which hides feed tokens in URLs."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "nodedesk.api": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run(options: ServeOptions) -> int:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and exit 0.

    uvicorn handles the signal while it serves and raises it again once it has shut down (for
    the exit status); the handlers installed here turn that into a clean exit, and stop a
    server that is still starting."""
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _serve(options)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _serve(options: ServeOptions) -> None:
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        log_config=log_config(),
        access_log=False,
        proxy_headers=bool(options.trusted_proxies),
        forwarded_allow_ips=list(options.trusted_proxies) or None,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
