"""The help modal: a help topic, then this screen's keys."""
