"""REST endpoints of the background-task app, one module per concern."""
