"""Slurm: maintenance windows pushed as MAINT reservations, drained or down nodes pulled as
outages (help/slurm.md).

- :mod:`.hostlist` — Slurm host lists (``node[2433-2436,2440]``), expanded and compressed;
- :mod:`.config` — the site settings that point at Slurm, and the node-name mapping;
- :mod:`.client` — the installed ``scontrol``/``sinfo``, with timeouts and one-line errors;
- :mod:`.plan` — the sync planner: pure functions from nodedesk's and Slurm's state to a plan;
- :mod:`.sync` — one sync: lock, read, plan, apply, record;
- :mod:`.status` — what the last sync saw: per-window presence in Slurm, drift, last sync time.
"""
