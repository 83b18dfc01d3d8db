"""SMTP credentials never cross the network in clear text (help/notices.md).

``NODEDESK_SMTP_SECURITY=none`` with a user and password is refused, before any connection,
unless the host is the loopback interface; a relay on 127.0.0.1 that asks for a login (a real
aiosmtpd here) still works. :func:`mailer.smtp_security_problem` reports the same for doctor.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from nodedesk.core import mailer
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import notices

from tests.cli.conftest import SiteCli, cli_site, cli_template  # noqa: F401
from tests.notices.test_smtp import SENDER, Collector, _new_window, _notices, free_port

BASE = {"NODEDESK_SMTP_FROM": SENDER, "NODEDESK_SMTP_SECURITY": "none"}
CREDENTIALS = {"NODEDESK_SMTP_USER": "nd", "NODEDESK_SMTP_PASSWORD": "s3cret"}


@pytest.fixture
def smtp_with_login() -> Iterator[tuple[Collector, int, list[str]]]:
    """aiosmtpd on 127.0.0.1 that accepts AUTH without TLS (a local relay) and logs who logged in."""
    handler = Collector()
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"nd",
            b"s3cret",
        )
        if ok:
            logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield handler, port, logins
    controller.stop()


@pytest.mark.parametrize("host", ["mail.example.org", "192.0.2.10", "2001:db8::1", "localhost.example.org"])
def test_credentials_over_plain_smtp_to_another_host_are_refused(host: str) -> None:
    env = {**BASE, **CREDENTIALS, "NODEDESK_SMTP_HOST": host}
    with pytest.raises(ValidationError) as info:
        mailer.config_from_env(env)
    assert info.value.field == "NODEDESK_SMTP_SECURITY"
    assert "unencrypted" in str(info.value) and "\n" not in str(info.value)
    assert "s3cret" not in str(info.value)
    assert mailer.smtp_security_problem(env) == str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"])
def test_credentials_to_a_loopback_relay_are_allowed(host: str) -> None:
    env = {**BASE, **CREDENTIALS, "NODEDESK_SMTP_HOST": host}
    assert mailer.config_from_env(env).user == "nd"
    assert mailer.smtp_security_problem(env) is None


def test_encrypted_transports_keep_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for security in ("starttls", "ssl"):
        env = {
            **BASE,
            **CREDENTIALS,
            "NODEDESK_SMTP_HOST": "mail.example.org",
            "NODEDESK_SMTP_SECURITY": security,
        }
        assert mailer.config_from_env(env).security == security
        assert mailer.smtp_security_problem(env) is None


def test_doctor_hears_about_plain_mail_to_another_host_even_without_credentials() -> None:
    assert mailer.smtp_security_problem({}) is None  # SMTP not configured
    problem = mailer.smtp_security_problem({**BASE, "NODEDESK_SMTP_HOST": "mail.example.org"})
    assert problem and problem.startswith("NODEDESK_SMTP_SECURITY:") and "unencrypted" in problem


def test_a_hand_built_configuration_is_refused_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("connected although the credentials would go out in clear text")

    monkeypatch.setattr(smtplib, "SMTP", no_network)
    config = mailer.SmtpConfig("mail.example.org", 25, "none", SENDER, "nd", "s3cret")
    with pytest.raises(ValidationError) as info:
        mailer.deliver(config, [mailer.Outgoing(1, "u", "a@b.org", "s", "b")], now=None)  # type: ignore[arg-type]
    assert info.value.field == "NODEDESK_SMTP_SECURITY"


def test_a_loopback_relay_with_a_login_delivers(centre: Runtime, smtp_with_login) -> None:  # type: ignore[no-untyped-def]
    handler, port, logins = smtp_with_login
    _new_window(centre)
    env = {**BASE, **CREDENTIALS, "NODEDESK_SMTP_HOST": "127.0.0.1", "NODEDESK_SMTP_PORT": str(port)}
    report = notices.send_pending(centre, environ=env)
    assert report.sent == 2 and report.failed == 0
    assert logins == ["nd"] and len(handler.envelopes) == 2
    assert {n.status for n in _notices(centre).values()} == {"sent"}


def test_cli_refuses_plain_credentials_with_one_line_and_sends_nothing(cli_site: SiteCli) -> None:  # noqa: F811
    env = {**BASE, **CREDENTIALS, "NODEDESK_SMTP_HOST": "mail.example.org"}
    result = cli_site.run("notices", "send", env=env)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("nodedesk: error: NODEDESK_SMTP_SECURITY: is none, so the SMTP password")
    assert "s3cret" not in result.stderr
