"""Reservations: the list, detail, form and the approve/decline dialog."""
