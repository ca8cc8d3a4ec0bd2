"""The common layer: what the auth, tasks and chat functions share."""
