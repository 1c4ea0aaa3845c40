"""The users resource: the implementation of the spec's `users` tag."""
