"""RQ wiring: connections, enqueueing, the task entry points and the worker."""
