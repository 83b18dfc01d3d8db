"""The app's features: one package per area, each with its screens and its styles."""
