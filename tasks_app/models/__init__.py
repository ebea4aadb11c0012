"""Models of the background-task app, one module per concern."""
