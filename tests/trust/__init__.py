"""Tests that the product's promises hold against a hostile local user on a shared host."""
