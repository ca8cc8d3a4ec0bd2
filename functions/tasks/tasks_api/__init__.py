"""The tasks function: task CRUD and health checks."""
