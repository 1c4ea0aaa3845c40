"""Domain exceptions of the files package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from uuid import UUID

from impl.platform.problems import InvalidRequestError, ProblemError

__all__ = [
    "EmptyFileError",
    "InvalidRequestError",
    "MalformedUploadError",
    "UnknownFileError",
    "UnsatisfiableRangeError",
    "UnsupportedFileTypeError",
    "UploadTooLargeError",
]


class UnknownFileError(ProblemError):
    """No such file *for this caller*: someone else's file answers exactly like a missing one."""

    status = 404

    def __init__(self, file_id: UUID) -> None:
        super().__init__(f"You have no file with the id {file_id}.")


class MalformedUploadError(ProblemError):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class UploadTooLargeError(ProblemError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file exceeds the upload limit of {limit} bytes.")


class UnsupportedFileTypeError(ProblemError):
    status = 415

    def __init__(self) -> None:
        super().__init__(
            "The file's content is not of an accepted type (PNG, JPEG, GIF, WebP, PDF or UTF-8 text); "
            "the type is judged by the content, not by the name."
        )


class EmptyFileError(InvalidRequestError):
    def __init__(self) -> None:
        super().__init__(
            "The file is empty.", errors=[{"detail": "The file must hold at least one byte.", "pointer": "#/file"}]
        )


class UnsatisfiableRangeError(ProblemError):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The range starts past the end of the file ({size} bytes).", headers={"Content-Range": f"bytes */{size}"}
        )
