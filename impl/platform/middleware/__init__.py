"""Pure-ASGI middleware: each class wraps an ASGI app and costs one function call per message, never a task."""
