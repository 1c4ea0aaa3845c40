"""The `users` tag's handlers (generated.api.users.UsersApi): CRUD with conditional requests and idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from generated import models
from generated.api._support import Principal, Reply
from impl.platform.conditional import if_match_fails, none_match, not_modified_since
from impl.platform.db.base import next_modification, utc_now
from impl.platform.db.engine import Sessions
from impl.platform.events import EventBus
from impl.platform.idempotency import IdempotencyStore, fingerprint
from impl.platform.problems import refuse_explicit_nulls, require_members
from impl.users.activity_report import ActivityReport, as_csv
from impl.users.errors import (
    LastAdminError,
    PreconditionFailedError,
    RoleChangeForbiddenError,
    UserNotFoundError,
)
from impl.users.export import UsersExport
from impl.users.field_rules import ACCESS_FIELDS, refuse_own_access_change
from impl.users.models import UserRecord
from impl.users.pagination import decode_cursor, encode_cursor
from impl.users.publishing import UserEvents
from impl.users.reads import UserReads
from impl.users.repository import UserFilters, UserRepository
from impl.users.representation import UserSnapshot, etag, representation_headers, view

COLLECTION = "/api/v1/users"
CREATE_SCOPE = f"POST {COLLECTION}"
ALLOW = "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
# Optimistic-concurrency retries for a change without If-Match (with If-Match a lost race is a 412).
WRITE_ATTEMPTS = 5

T = TypeVar("T")
ADMIN = models.Role.admin.value


class AccessChanges(Protocol):
    """What follows a change of who may do what (auth provides): the account's sessions end everywhere and its
    state is read again, so its tokens and open channels stop at once, not when they expire."""

    async def access_changed(self, user_id: uuid.UUID) -> None: ...


class OwnedFiles(Protocol):
    """The files a user owns (files provides): deleted with the user, rows in its transaction, bytes after it."""

    async def delete_rows_of_owner(self, session: Any, owner_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def remove_contents(self, file_ids: list[uuid.UUID]) -> None: ...


class NewPasswords(Protocol):
    """Checks a new password against the password rules (422 naming ``pointer``) and hashes it (auth provides)."""

    async def hash_new_password(self, password: str, *, email: str, name: str, pointer: str) -> str: ...


Sort = Literal["created_at", "-created_at", "email", "-email", "name", "-name"]


def _as_utc(instant: datetime | None) -> datetime | None:
    if instant is None:
        return None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


async def _optimistically(if_match: str | None, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a read-check-write transaction; when a concurrent change wins the version race (StaleDataError), retry
    on fresh data, unless the client pinned a version with If-Match: then its ETag is stale, and that is a 412."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            return await attempt()
        except StaleDataError:
            if if_match is not None:
                raise PreconditionFailedError from None
    raise PreconditionFailedError


class UsersService:
    def __init__(
        self,
        *,
        sessions: Sessions,
        idempotency: IdempotencyStore,
        reads: UserReads,
        passwords: NewPasswords,
        events: EventBus,
        access: AccessChanges,
        files: OwnedFiles,
    ) -> None:
        self._sessions = sessions
        self._access = access
        self._files = files
        self._events = UserEvents(bus=events)
        self._export = UsersExport(sessions=sessions)
        self._activity = ActivityReport(sessions=sessions)
        self._passwords = passwords
        self._idempotency = idempotency
        self._reads = reads

    # --- reads ---------------------------------------------------------------------------------------------
    async def list_users(
        self,
        *,
        limit: int,
        cursor: str | None,
        sort: Sort,
        role: models.Role | None,
        active: Literal["true", "false"] | None,
        created_after: datetime | None,
        created_before: datetime | None,
        q: str | None,
        principal: Principal,
    ) -> Reply[models.UserPage]:
        field, descending = sort.lstrip("-"), sort.startswith("-")
        filters = UserFilters(
            role=role.value if role is not None else None,
            active=None if active is None else active == "true",
            created_after=_as_utc(created_after),
            created_before=_as_utc(created_before),
            q=q,
        )
        after = decode_cursor(cursor, sort) if cursor is not None else None
        async with self._sessions.read() as session:
            records = await UserRepository(session).page(
                filters=filters, sort=field, descending=descending, after=after, limit=limit + 1
            )
        page, more = records[:limit], len(records) > limit
        next_url = None
        if more:
            query = {
                "limit": limit,
                "sort": sort,
                "role": filters.role,
                "active": active,
                "created_after": created_after.isoformat() if created_after else None,
                "created_before": created_before.isoformat() if created_before else None,
                "q": q,
                "cursor": encode_cursor(sort, page[-1]),
            }
            next_url = f"{COLLECTION}?{urlencode({k: v for k, v in query.items() if v is not None})}"
        headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
        return Reply(models.UserPage(items=[view(r) for r in page], next=next_url), headers=headers)

    async def get_user(
        self, *, user_id: uuid.UUID, if_none_match: str | None, if_modified_since: str | None, principal: Principal
    ) -> Reply[models.User]:
        record = await self._load(user_id)
        if self._not_modified(record, if_none_match, if_modified_since):
            return Reply(record.model, headers=record.headers, status_code=304)
        return Reply(record.model, headers=record.headers)

    async def head_user(
        self, *, user_id: uuid.UUID, if_none_match: str | None, if_modified_since: str | None, principal: Principal
    ) -> Reply[None]:
        record = await self._load(user_id)
        if self._not_modified(record, if_none_match, if_modified_since):
            return Reply(None, headers=record.headers, status_code=304)
        return Reply(None, headers=record.head_headers)

    async def options_user(self, *, user_id: uuid.UUID, principal: Principal) -> Reply[None]:
        await self._load(user_id)  # the methods of a user that exists: an unknown or deleted one is 404, as for GET
        return Reply(None, headers={"Allow": ALLOW})

    async def export_users(self, *, format: Literal["ndjson", "csv"], principal: Principal) -> Response:
        return self._export.response(format)

    async def users_stats(
        self,
        *,
        start: date | None,
        end: date | None,
        period: Literal["day", "week"],
        format: Literal["json", "csv"],
        principal: Principal,
    ) -> models.UserStats | Response:
        stats = await self._activity.report(start=start, end=end, period=period)
        return as_csv(stats) if format == "csv" else stats

    # --- writes --------------------------------------------------------------------------------------------
    async def create_user(
        self, *, idempotency_key: str | None, body: models.UserCreate, principal: Principal
    ) -> Reply[models.User]:
        refuse_explicit_nulls(body, what="a user")
        password_hash = None
        if body.password is not None:
            password_hash = await self._passwords.hash_new_password(
                body.password.get_secret_value(), email=body.email, name=body.name, pointer="#/password"
            )
        if idempotency_key is not None:
            stored = await self._idempotency.claim(
                scope=CREATE_SCOPE, key=idempotency_key, request_fingerprint=fingerprint(_fingerprinted(body))
            )
            if stored is not None:
                replayed = models.User.model_validate_json(stored.body)
                return Reply(replayed, headers=stored.headers, status_code=stored.status_code)
        try:
            now = utc_now()
            record = UserRecord(
                id=uuid.uuid4(),
                email=body.email.lower(),
                name=body.name,
                role=(body.role or models.Role.user).value,
                active=body.active,
                created_at=now,
                updated_at=now,
                password_hash=password_hash,
            )
            async with self._sessions.write.begin() as session:
                await UserRepository(session).insert(record)
                user = view(record)
                headers = {"Location": f"{COLLECTION}/{record.id}", **representation_headers(record)}
                if idempotency_key is not None:
                    await self._idempotency.complete(
                        session,
                        scope=CREATE_SCOPE,
                        key=idempotency_key,
                        status_code=201,
                        headers=headers,
                        body=user.model_dump_json().encode(),
                    )
        except BaseException:
            if idempotency_key is not None:
                await self._idempotency.release(scope=CREATE_SCOPE, key=idempotency_key)
            raise
        await self._events.created(user)  # after the commit: subscribers never hear of a rolled-back user
        return Reply(user, headers=headers)

    async def replace_user(
        self, *, user_id: uuid.UUID, if_match: str | None, body: models.UserReplace, principal: Principal
    ) -> Reply[models.User]:
        refuse_explicit_nulls(body, what="a user")
        values: dict[str, Any] = {"email": body.email, "name": body.name, "active": body.active}
        if body.role is not None:
            values["role"] = body.role
        return await self._change(user_id, if_match, values, principal)

    async def update_user(
        self, *, user_id: uuid.UUID, if_match: str | None, body: models.UserPatch, principal: Principal
    ) -> Reply[models.User]:
        require_members(body, fields="email, name, active, role")
        refuse_explicit_nulls(body, what="a user")
        members = {name: getattr(body, name) for name in body.model_fields_set}
        return await self._change(user_id, if_match, members, principal)

    async def delete_user(self, *, user_id: uuid.UUID, if_match: str | None, principal: Principal) -> None:
        async def attempt() -> list[uuid.UUID]:
            async with self._sessions.write.begin() as session:
                record = await self._load_in(session, user_id)
                if if_match_fails(if_match, etag(record)):
                    raise PreconditionFailedError
                refuse_own_access_change(principal, user_id, {"active"})
                await _keep_an_admin(session, record, role=None, active=False)
                # The user's files go in the same transaction: both, or neither.
                file_ids = await self._files.delete_rows_of_owner(session, user_id)
                await session.delete(record)
            return file_ids

        file_ids = await _optimistically(if_match, attempt)
        await self._files.remove_contents(file_ids)
        await self._reads.forget(user_id)
        await self._events.deleted(user_id)
        # Last: it may answer 503 (the revocation store is down), and nothing above may be skipped then.
        await self._access.access_changed(user_id)

    # --- helpers -------------------------------------------------------------------------------------------
    async def _change(
        self, user_id: uuid.UUID, if_match: str | None, values: dict[str, Any], principal: Principal
    ) -> Reply[models.User]:
        if isinstance(values.get("role"), models.Role):
            values["role"] = values["role"].value
        reply, changed = await self._apply_change(user_id, if_match, values, principal)
        await self._reads.forget(user_id)
        if changed:  # a request that changed nothing committed nothing: no event
            await self._events.updated(reply.body)
        if ACCESS_FIELDS & changed:
            # Last: it may answer 503 (the revocation store is down), and nothing above may be skipped then.
            await self._access.access_changed(user_id)
        return reply

    async def _apply_change(
        self, user_id: uuid.UUID, if_match: str | None, values: dict[str, Any], principal: Principal
    ) -> tuple[Reply[models.User], set[str]]:
        """Apply ``values`` as one optimistic-concurrency update: no concurrent change is ever overwritten.
        Also says which fields changed."""
        if "email" in values:
            values["email"] = values["email"].lower()

        async def attempt() -> tuple[Reply[models.User], set[str]]:
            async with self._sessions.write.begin() as session:
                record = await self._load_in(session, user_id)
                if if_match_fails(if_match, etag(record)):
                    raise PreconditionFailedError
                changed = {k: v for k, v in values.items() if getattr(record, k) != v}
                refuse_own_access_change(principal, user_id, set(changed))
                if "role" in changed and principal.role != ADMIN:
                    raise RoleChangeForbiddenError
                if "role" in changed or "active" in changed:
                    await _keep_an_admin(
                        session, record, role=changed.get("role", record.role), active=changed.get("active", True)
                    )
                if changed:
                    for name, value in changed.items():
                        setattr(record, name, value)
                    record.updated_at = next_modification(record.updated_at)
                    await UserRepository(session).flush()
                return Reply(view(record), headers=representation_headers(record)), set(changed)

        return await _optimistically(if_match, attempt)

    async def _load(self, user_id: uuid.UUID) -> UserSnapshot:
        return await self._reads.get(user_id)

    @staticmethod
    async def _load_in(session: Any, user_id: uuid.UUID) -> UserRecord:
        record = await UserRepository(session).get(user_id)
        if record is None:
            raise UserNotFoundError(user_id)
        return record

    @staticmethod
    def _not_modified(record: UserSnapshot, if_none_match: str | None, if_modified_since: str | None) -> bool:
        if if_none_match is not None:  # If-None-Match wins; If-Modified-Since is then ignored (RFC 9110 §13.1.3)
            return none_match(if_none_match, record.headers["ETag"])
        return not_modified_since(if_modified_since, record.updated_at)


async def _keep_an_admin(session: Any, record: UserRecord, *, role: str | None, active: bool) -> None:
    """Refuse (409) a change that would leave no active admin: nobody could then manage roles."""
    if record.role != ADMIN or not record.active or (role == ADMIN and active):
        return
    # The active admins' rows locked (in id order, so two such changes never deadlock): a concurrent change of
    # another admin waits for this transaction and then sees its result, instead of both counting the other
    # (write skew). PostgreSQL needs the lock; SQLite runs one write transaction at a time and ignores it.
    admins = await session.scalars(
        select(UserRecord.id)
        .where(UserRecord.role == ADMIN, UserRecord.active.is_(True))
        .order_by(UserRecord.id)
        .with_for_update()
    )
    if not any(admin_id != record.id for admin_id in admins):
        raise LastAdminError


def _fingerprinted(body: models.UserCreate) -> dict[str, Any]:
    """What identifies a creation request for its Idempotency-Key. Absent optional members count as absent, and the
    password not at all: the key store must never hold anything derived from a password (an unsalted digest of it
    beside the email could be guessed offline)."""
    return body.model_dump(mode="json", exclude_none=True, exclude={"password"})
