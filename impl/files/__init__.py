"""File uploads: streamed multipart uploads checked by content, stored under generated names, ranged downloads."""
