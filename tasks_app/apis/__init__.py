"""REST endpoints of the background-task app: one APIView per operation, one module per concern."""
