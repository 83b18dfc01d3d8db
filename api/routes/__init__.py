"""The API's endpoints, by area: windows, the other records (outages, nodes, reservations,
schedules, impact, invoices, activity), and the feeds (calendar, metrics)."""
