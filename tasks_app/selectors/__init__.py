"""Reads of the background-task app (selectors), one module per concern."""
