"""The dashboard: what needs attention now."""
