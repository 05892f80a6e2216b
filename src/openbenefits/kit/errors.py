"""The one exception hierarchy. Services raise these; each surface renders them in its own shape."""

from typing import Any


class AppError(Exception):
    status_code = 500
    default_code = "INTERNAL_ERROR"
    default_message = "Unexpected error."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        reference: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.reference = reference
        self.extra = extra or {}
        # Sent with the error answer (a refused use's ``Link`` to what would make it valid).
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidRequest(AppError):
    status_code = 400
    default_code = "INVALID_REQUEST"
    default_message = "The request is not valid."


class Unauthorized(AppError):
    status_code = 401
    default_code = "UNAUTHORIZED"
    default_message = "Authentication failed."

    def __init__(self, message: str | None = None, *, challenge: str = "Bearer", **kwargs: Any):
        super().__init__(message, **kwargs)
        # The WWW-Authenticate scheme: the one the client used, or should use.
        self.challenge = challenge


class Forbidden(AppError):
    status_code = 403
    default_code = "FORBIDDEN"
    default_message = "The caller lacks the privilege for this operation."


class NotFound(AppError):
    status_code = 404
    default_code = "NOT_FOUND"
    default_message = "The entity does not exist."


class MethodNotAllowed(AppError):
    status_code = 405
    default_code = "METHOD_NOT_ALLOWED"
    default_message = "The method is not allowed on this resource."


class Conflict(AppError):
    status_code = 409
    default_code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status_code = 413
    default_code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class UnsupportedMediaType(AppError):
    status_code = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "The request body has an unsupported media type."


class Unprocessable(AppError):
    status_code = 422
    default_code = "UNPROCESSABLE"
    default_message = "The request cannot be processed."


class ServiceUnavailable(AppError):
    status_code = 503
    default_code = "SERVICE_UNAVAILABLE"
    default_message = "The service is not ready."
