"""Help topics shipped as Markdown files in ``help/`` (installed as ``nodedesk.help``)."""

from __future__ import annotations

import re
from importlib import resources

from .errors import NotFoundError

_TOPIC_RE = re.compile(r"^[a-z0-9-]+$")


def topics() -> list[str]:
    root = resources.files("nodedesk.help")
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".md"))


def read(topic: str) -> str:
    name = (topic or "").strip().lower()
    if not _TOPIC_RE.match(name) or name not in topics():
        raise NotFoundError(f"no help topic {topic!r} (topics: {', '.join(topics())})", field="topic")
    return (resources.files("nodedesk.help") / f"{name}.md").read_text("utf-8")


def summary(topic: str) -> str:
    """The first heading of a topic, for listings."""
    for line in read(topic).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return topic
