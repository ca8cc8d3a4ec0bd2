"""The chat function: an AI assistant that manages the caller's tasks through the task tools."""
