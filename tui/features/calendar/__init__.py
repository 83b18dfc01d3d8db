"""The calendar: month grid, a day's agenda, and the nodes-now view."""
