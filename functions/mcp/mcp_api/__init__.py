"""The MCP function: the task tools over the Model Context Protocol, for the caller's own tasks."""
