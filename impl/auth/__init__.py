"""Authentication: passwords, tokens, login sessions and the access guard."""
