"""405 for a literal path that a templated sibling would otherwise swallow (`/users/export` vs `/users/{user_id}`).

Starlette routes by path first: `PUT /api/v1/users/export` matches `PUT /api/v1/users/{user_id}` with
`user_id="export"` and is answered 422 (not a UUID), although the spec says `/api/v1/users/export` has no PUT, which
is a 405 with `Allow`. For every such pair in the spec, a small route placed first answers the methods the literal
path does not have with that 405, exactly as an unknown method on any other path is answered.
"""

from __future__ import annotations

from collections import defaultdict

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from impl.platform.openapi_document import OperationKey
from impl.platform.problems import METHOD_GUARD_ROUTE


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_template(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _swallows(template: str, literal: str) -> bool:
    """True when ``template``'s pattern also matches the literal path ``literal``."""
    mine, theirs = _segments(template), _segments(literal)
    return (
        template != literal
        and len(mine) == len(theirs)
        and any(_is_template(segment) for segment in mine)
        and all(_is_template(segment) or segment == other for segment, other in zip(mine, theirs, strict=True))
    )


def shadowed_methods(operations: set[OperationKey]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """For each literal path a template swallows: (the methods it has, the template's methods it lacks)."""
    methods: dict[str, set[str]] = defaultdict(set)
    for operation in operations:
        methods[operation.path].add(operation.method)
    found: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for literal, own in methods.items():
        if any(_is_template(segment) for segment in _segments(literal)):
            continue
        swallowed = set().union(*(extra for path, extra in methods.items() if _swallows(path, literal)))
        if swallowed - own:
            found[literal] = (frozenset(own), frozenset(swallowed - own))
    return found


def guard_shadowed_paths(app: FastAPI, operations: set[OperationKey]) -> None:
    """Put a 405 route before the API routes for every method a templated sibling would wrongly answer."""
    for path, (_, refused) in sorted(shadowed_methods(operations).items()):

        async def method_not_allowed(request: Request) -> None:
            # The problem handler names the allowed methods (`Allow`), this route's own not among them.
            raise HTTPException(405)

        guard = Route(
            path, method_not_allowed, methods=sorted(refused), name=METHOD_GUARD_ROUTE, include_in_schema=False
        )
        app.router.routes.insert(0, guard)
