"""One registry of key bindings: stable ids, the live keys of a screen, the catalogue of all ids.

Every binding gets an id ``<area>.<action>`` (``windows.new``, ``table.next_page``,
``section.windows``); the user's ``[keys]`` table remaps keys by these ids (help/keys.md,
"Remapping keys and choosing a theme"). Ids are given once per class, in place, to the bindings
Textual has already merged for it, so no screen or widget file has to spell them out:

- the area is the class that declares the key (a subclass inherits its base's ids); nodedesk
  classes are named after the class (``WindowsScreen`` → ``windows``, see ``AREAS`` for the
  exceptions), Textual's own classes get ``textual.`` in front (``textual.input.cursor_left``);
- the bindings of one key in one class share one id, the first one's: ``e`` on the windows list
  is *edit*, *move end* or a locked stand-in depending on the row, and moving ``e`` moves them all.

``live_bindings(screen)`` is what the footer, the help modal and the command palette read:
the screen's bindings right now, after the user's remapping.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

if TYPE_CHECKING:
    from textual.screen import Screen

PACKAGE = "nodedesk.tui"
# Areas whose class name would read badly or clash ("module:Class" → area).
AREAS: dict[str, str] = {
    "nodedesk.tui.app:NodedeskApp": "app",
    "nodedesk.tui.widgets.paged_table:PagedTable": "table",
    "nodedesk.tui.kit.list_screen:ListScreen": "list",
    "nodedesk.tui.kit.edit_form:EditFormScreen": "form",
    "nodedesk.tui.features.backup.backup_export:ExportScreen": "backup_export",
    "nodedesk.tui.features.invoices.invoice_dialogs:ExportScreen": "invoice_export",
    "nodedesk.tui.features.invoices.invoice_dialogs:_Dialog": "invoice_dialog",
}
_SUFFIXES = ("Screen", "Dialog", "Modal")
_done: set[type[DOMNode]] = set()
_own_keys: dict[type[DOMNode], frozenset[str]] = {}


def _snake(name: str) -> str:
    name = name.lstrip("_")
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            name = name[: -len(suffix)]
            break
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def area_of(cls: type) -> str:
    """The first part of the ids a class declares."""
    known = AREAS.get(f"{cls.__module__}:{cls.__qualname__}")
    if known:
        return known
    area = _snake(cls.__name__)
    return area if cls.__module__.startswith(PACKAGE + ".") else f"textual.{area}"


def action_name(action: str) -> str:
    """``copy('cell')`` → ``copy_cell``; ``move(-1)`` → ``move_minus_1``; ``app.quit`` → ``quit``."""
    name, _, args = action.partition("(")
    name = name.rsplit(".", 1)[-1]
    words = [w for w in re.split(r"\W+", re.sub(r"-(?=\d)", " minus ", args)) if w]
    return "_".join([name, *words]).lower()


def _keys_declared(cls: type[DOMNode]) -> frozenset[str]:
    keys = _own_keys.get(cls)
    if keys is None:
        keys = frozenset(BindingsMap(cls.__dict__.get("BINDINGS", [])).key_to_bindings)
        _own_keys[cls] = keys
    return keys


def _declaring_class(cls: type[DOMNode], key: str) -> type:
    for base in cls.__mro__:
        if isinstance(base, type) and issubclass(base, DOMNode) and key in _keys_declared(base):
            return base
    return cls


def _name_group(owner: type, key: str, group: list[Binding]) -> None:
    """Give the bindings of one key the group's id (in place: instances share these lists)."""
    if all(b.id for b in group):
        return
    ident = next((b.id for b in group if b.id), None) or f"{area_of(owner)}.{action_name(group[0].action)}"
    group[:] = [b if b.id else dataclasses.replace(b, id=ident) for b in group]


def name_class(cls: type[DOMNode]) -> None:
    """Ids for every binding of one class (its own and the inherited ones)."""
    merged = cls.__dict__.get("_merged_bindings")
    if merged is not None:
        for key, group in merged.key_to_bindings.items():
            _name_group(_declaring_class(cls, key), key, group)
    _done.add(cls)


def _subclasses(root: type[DOMNode]) -> Iterator[type[DOMNode]]:
    stack = [root]
    while stack:
        cls = stack.pop()
        yield cls
        stack.extend(cls.__subclasses__())


def ensure_ids() -> None:
    """Name the bindings of every class defined so far (cheap when nothing is new).

    Called when the app starts, when a screen is made or pushed and before the registry is read,
    so a class imported late (screens load on first use) is named before its first key press.
    """
    for cls in _subclasses(DOMNode):
        if cls not in _done:
            name_class(cls)


def name_node(node: DOMNode) -> None:
    """Ids for bindings a node added itself (Textual's palette key ``^p`` on the app)."""
    owner = type(node)
    for key, group in node._bindings.key_to_bindings.items():
        _name_group(owner, key, group)


# ------------------------------------------------------------------ the live keys of a screen


@dataclass(frozen=True)
class LiveBinding:
    """One key of the active screen as it works right now."""

    key: str  # Textual's name, after remapping (``question_mark``)
    display: str  # as shown (``?``)
    id: str
    action: str
    description: str
    tooltip: str
    show: bool
    priority: bool
    enabled: bool
    node: DOMNode


def live_bindings(screen: Screen) -> list[LiveBinding]:
    """The screen's active bindings (focused widget, screen, app), keymap applied, in order."""
    app = screen.app
    found: list[LiveBinding] = []
    active_bindings = screen.active_bindings
    if any(active.binding.id is None for active in active_bindings.values()):
        ensure_ids()  # a class loaded after the last screen was pushed (rare)
        for active in active_bindings.values():
            name_node(active.node)
        active_bindings = screen.active_bindings
    for key, active in active_bindings.items():
        b = active.binding
        found.append(
            LiveBinding(
                key=key,
                display=app.get_key_display(b),
                id=b.id or "",
                action=b.action,
                description=b.description,
                tooltip=b.tooltip,
                show=b.show,
                priority=b.priority,
                enabled=active.enabled,
                node=active.node,
            )
        )
    return found


def keys_of(bindings: Iterable[LiveBinding], ident: str) -> list[str]:
    """The displays of the keys bound to ``ident`` (``["?", "f1"]``)."""
    return list(dict.fromkeys(b.display for b in bindings if b.id == ident))


# ------------------------------------------------------------------ the catalogue of all ids


def import_all() -> None:
    """Import every module that declares screens or widgets (they normally load on first use)."""
    importlib.import_module(f"{PACKAGE}.app")
    for sub in ("screens", "widgets", "kit"):
        package = importlib.import_module(f"{PACKAGE}.{sub}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            importlib.import_module(f"{package.__name__}.{info.name}")


def scopes() -> list[type[DOMNode]]:
    """The classes whose bindings the app uses: nodedesk's own screens and widgets, and the
    Textual widgets its modules import (an ``Input`` in a form), in a stable order."""
    import_all()
    ensure_ids()
    found: dict[str, type[DOMNode]] = {}
    for name, module in sorted(sys.modules.items()):
        if not name.startswith(PACKAGE + ".") or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DOMNode) and value._merged_bindings is not None:
                found.setdefault(f"{value.__module__}:{value.__qualname__}", value)
    return [found[k] for k in sorted(found)]


@dataclass(frozen=True)
class KeyEntry:
    """One id of the catalogue: its default keys, where it is declared, what it does."""

    id: str
    keys: tuple[str, ...]  # Textual's key names, before remapping
    description: str
    action: str
    area: str
    scopes: tuple[str, ...]  # the classes that use it ("module:Class")

    def remapped(self, keymap: Mapping[str, str]) -> tuple[str, ...]:
        if self.id in keymap:
            return tuple(k.strip() for k in keymap[self.id].split(",") if k.strip())
        return self.keys


def catalogue() -> dict[str, KeyEntry]:
    """Every binding id the app knows, by id (sorted)."""
    raw: dict[str, dict[str, object]] = {}
    for cls in scopes():
        scope = f"{cls.__module__}:{cls.__qualname__}"
        for key, group in cls._merged_bindings.key_to_bindings.items():  # type: ignore[union-attr]
            for b in group:
                ident = b.id or ""
                entry = raw.setdefault(
                    ident,
                    {"keys": [], "description": "", "action": b.action, "scopes": [], "area": ""},
                )
                entry["area"] = entry["area"] or area_of(_declaring_class(cls, key))
                if key not in entry["keys"]:  # type: ignore[operator]
                    entry["keys"].append(key)  # type: ignore[union-attr]
                if not entry["description"] and b.description:
                    entry["description"] = b.description
                if scope not in entry["scopes"]:  # type: ignore[operator]
                    entry["scopes"].append(scope)  # type: ignore[union-attr]
    return {
        ident: KeyEntry(
            ident,
            tuple(e["keys"]),  # type: ignore[arg-type]
            str(e["description"]),
            str(e["action"]),
            str(e["area"]),
            tuple(e["scopes"]),  # type: ignore[arg-type]
        )
        for ident, e in sorted(raw.items())
    }


def clashes(keymap: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """Keys bound twice in one scope after remapping: ``(scope area, key, id, other id)``.

    A scope is one screen or widget (its own and inherited keys). A screen key that hides an
    app key (the screen is asked first) is not a clash.
    """
    found: list[tuple[str, str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for cls in scopes():
        ids: dict[str, list[str]] = {}
        for key, group in cls._merged_bindings.key_to_bindings.items():  # type: ignore[union-attr]
            for b in group:
                if b.id and key not in ids.setdefault(b.id, []):
                    ids[b.id].append(key)
        if not any(ident in keymap for ident in ids):
            continue
        owner: dict[str, str] = {}
        for ident, keys in ids.items():
            if ident in keymap:
                keys = [k.strip() for k in keymap[ident].split(",") if k.strip()]
            for key in keys:
                other = owner.setdefault(key, ident)
                if other != ident:
                    first, second = sorted((other, ident), key=lambda i: (i not in keymap, i))
                    if (key, first, second) not in seen:
                        seen.add((key, first, second))
                        found.append((area_of(cls), key, first, second))
    return found
