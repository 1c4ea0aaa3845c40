"""Schemathesis hooks, loaded by schemathesis.toml for both fuzz runs (pytest in-process and `make fuzz`).

An Idempotency-Key means "this is the same request as before": the service must answer a reused key with a
*different* body 422 (IETF draft, tested in tests/impl/users/). A fuzzer cannot know that, and draws the same few
keys for many different bodies. So every schema-valid key it generates is made unique; invalid ones (too short,
bad characters) are left as they are, so the fuzzer still checks that those are refused.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,255}")


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and _VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    return case
