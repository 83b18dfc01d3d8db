"""Notices to renters: the queue and its delivery state."""
