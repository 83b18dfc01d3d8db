"""Invoices: the months, one month's invoice, its lines, and the finalize/export/override dialogs."""
