"""Domain errors carry a Chinese message a clerk can act on; entry points print it as is."""


class DomainError(Exception):
    """A refusal the user can understand and fix (bad input, impossible step)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class StaleVersion(DomainError):
    """Someone else saved the row since it was read: the write is refused, not lost."""
