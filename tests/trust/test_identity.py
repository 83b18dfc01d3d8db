"""Who is acting is what the kernel says, with real Unix users (help/security.md).

Attacks: a user naming someone else in LOGNAME/USER or SUDO_USER/SUDO_UID; a look-alike "sudo"
parent. Each refusal is paired with the same action succeeding for a user who may do it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

import pytest
from nodedesk.core import deploy
from nodedesk.core.errors import PermissionDenied

from tests.trust.hostusers import Host, HostSite, host_fixture, host_site_fixture  # noqa: F401


def _one_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_logname_and_user_do_not_name_the_actor(host_site: HostSite) -> None:
    """The service account itself, run directly with LOGNAME/USER naming the admin, is only
    itself: first unregistered, then (registered as a viewer) unable to make itself admin."""
    adm = host_site.host.login("adm")
    svc = host_site.host.svc
    spoof = {"LOGNAME": adm, "USER": adm}
    line = _one_line(host_site.as_user("svc", "user", "list", env=spoof))
    assert f"user '{svc}' is not registered" in line
    host_site.ok("adm", "user", "add", svc, "--role", "viewer")
    before = host_site.digest()
    line = _one_line(host_site.as_user("svc", "user", "roles", svc, "--role", "admin", env=spoof))
    assert f"{svc} may not manage users" in line
    assert host_site.digest() == before
    # the same change by the admin (through sudo) goes through, and the audit names the admin
    host_site.ok("adm", "user", "roles", svc, "--role", "admin")
    entry = host_site.json("adm", "audit", "list", "--limit", "1")[0]
    assert (entry["actor"], entry["real_user"]) == (adm, adm)


def test_sudo_variables_are_ignored_without_sudo(host_site: HostSite) -> None:
    """SUDO_USER/SUDO_UID set by hand (not by sudo) name nobody, even with the right uid."""
    h = host_site.host
    spoof = {"SUDO_USER": h.login("adm"), "SUDO_UID": str(h.uid("adm"))}
    line = _one_line(host_site.as_user("svc", "window", "list", env=spoof))
    assert f"user '{h.svc}' is not registered" in line
    # a viewer who sets them gets no further than their own account (the database is private)
    line = _one_line(host_site.as_user("vw", "user", "list", env=spoof))
    assert h.login("adm") not in line
    # the admin through the real sudo is the admin
    assert h.login("adm") in host_site.ok("adm", "user", "list")


def test_a_look_alike_sudo_parent_is_not_sudo(host_site: HostSite) -> None:
    """A process named "sudo" that the kernel does not run as root vouches for nobody."""
    h = host_site.host
    fake = h.root / "fake" / "sudo"
    fake.parent.mkdir(exist_ok=True, mode=0o755)
    shutil.copy("/bin/sh", fake)
    os.chmod(fake, 0o755)
    entry = pwd.getpwnam(h.svc)
    result = subprocess.run(
        [str(fake), "-c", f"{h.launcher} user list; exit $?"],
        env={"PATH": "/usr/bin:/bin", "SUDO_USER": h.login("adm"), "SUDO_UID": str(h.uid("adm"))},
        user=entry.pw_uid,
        group=entry.pw_gid,
        cwd=entry.pw_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"user '{h.svc}' is not registered" in _one_line(result)


def test_through_sudo_the_caller_acts_with_their_own_roles(host_site: HostSite) -> None:
    h = host_site.host
    window = ["window", "add", "--title", "T", "--start", "2027-03-02 08:00", "--end", "2027-03-02 09:00"]
    doc = host_site.json("rm", *window)
    assert doc["created_by"] == h.login("rm")
    entry = host_site.json("adm", "audit", "list", "--limit", "1")[0]
    assert (entry["actor"], entry["real_user"]) == (h.login("rm"), h.login("rm"))
    before = host_site.digest()
    line = _one_line(host_site.sudo("rm", "user", "roles", h.login("rm"), "--role", "admin"))
    assert f"{h.login('rm')} may not manage users" in line
    line = _one_line(host_site.sudo("vw", *window))
    assert f"{h.login('vw')} may not manage maintenance windows" in line
    line = _one_line(host_site.sudo("ghost", "window", "list"))
    assert f"user '{h.login('ghost')}' is not registered" in line
    assert host_site.digest() == before


def test_nodedesk_user_through_sudo_is_for_admins(host_site: HostSite) -> None:
    h = host_site.host
    window = ["window", "add", "--title", "T", "--start", "2027-03-02 08:00", "--end", "2027-03-02 09:00"]
    doc = host_site.json("adm", *window, env={"NODEDESK_USER": h.login("rm")})
    assert doc["created_by"] == h.login("rm")
    entry = host_site.json("adm", "audit", "list", "--limit", "1")[0]
    assert (entry["actor"], entry["real_user"]) == (h.login("rm"), h.login("adm"))
    line = _one_line(host_site.sudo("rm", "user", "list", env={"NODEDESK_USER": h.login("adm")}))
    assert "only an admin may act as another user" in line


def test_a_deactivated_user_is_told_so(host_site: HostSite) -> None:
    h = host_site.host
    assert h.login("vw") in host_site.ok("vw", "user", "list")
    host_site.ok("adm", "user", "edit", h.login("vw"), "--active", "no")
    line = _one_line(host_site.sudo("vw", "window", "list"))
    assert f"user '{h.login('vw')}' is deactivated" in line and "not registered" not in line
    line = _one_line(host_site.sudo("adm", "window", "list", env={"NODEDESK_USER": h.login("vw")}))
    assert "is deactivated" in line


# --- the rule itself, for the cases real sudo cannot produce -------------------------------------


def test_sudo_user_must_match_sudo_uid(monkeypatch: pytest.MonkeyPatch, host: Host) -> None:
    """Through a real sudo parent (simulated: sudo never sets a mismatch) a SUDO_USER whose uid
    is not SUDO_UID is refused, not believed; without a sudo parent it is ignored."""
    me = os.geteuid()
    monkeypatch.setattr(deploy, "sudo_parent_uid", lambda: 0)
    environ = {"SUDO_USER": host.login("adm"), "SUDO_UID": str(host.uid("vw"))}
    with pytest.raises(PermissionDenied, match="does not match SUDO_UID"):
        deploy.acting_login(environ, me)
    environ["SUDO_UID"] = str(host.uid("adm"))
    assert deploy.acting_login(environ, me) == host.login("adm")
    # not the service account (the storage belongs to someone else): SUDO_USER is not read
    assert deploy.acting_login(environ, me + 1) == deploy.login_name(me)
    monkeypatch.setattr(deploy, "sudo_parent_uid", lambda: None)
    assert deploy.acting_login(environ, me) == deploy.login_name(me)
