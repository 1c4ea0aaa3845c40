"""Test data the journeys send: unique emails (carrying the run id), passwords, multipart bodies.

Free of Locust imports (importing Locust monkey-patches the process for gevent), so the unit tests can use it.
"""

from __future__ import annotations

import secrets

# Every account and user the run creates has the run id in its email, so cleanup finds them all (see cleanup.py).
EMAIL_DOMAIN = "load.example.com"
# Names of seeded users (load/seed.py), which the admin journey searches for: on a seeded table a search finds many.
FIRST_NAMES = ("Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "John", "Katherine")
LAST_NAMES = ("Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen", "Hopper", "Backus", "Johnson")


def unique_email(run_id: str, kind: str) -> str:
    return f"{run_id}-{kind}-{secrets.token_hex(6)}@{EMAIL_DOMAIN}"


def new_password() -> str:
    # Random and 24+ characters: passes the NIST length rule and the common-password list, never reused.
    return secrets.token_urlsafe(18)


def multipart(field: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, and its Content-Type (FastHttpUser has no `files=`)."""
    boundary = f"charter-load-{secrets.token_hex(12)}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
