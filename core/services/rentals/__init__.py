"""Renting nodes: reservations and their policy, projects and members, fee subscriptions and cost splits."""
