"""Server-Sent Events: the bus's events a caller may see, with ticks, heartbeats and Last-Event-ID resumption."""
