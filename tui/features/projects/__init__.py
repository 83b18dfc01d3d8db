"""Projects: the list, detail and form, members, and cost splits."""
