"""Domain errors shared by the apps: services raise them, views translate them."""


class DomainError(Exception):
    """A rule of the business refused the request; the message is for people."""

    code = "invalid"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Facts an API client can act on; the API adds them to the error body.
        self.extra: dict[str, object] = {}
        if code is not None:
            self.code = code
