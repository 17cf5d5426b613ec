"""One exception type for user mistakes.

Anything a user can fix (a bad flag, a wrong config field, a corrupt image, an empty folder)
raises SegsimError with what was wrong and how to fix it. The CLI turns it into a one-line
message and exit code 2; the API turns it into a 4xx JSON error. Never a traceback.
"""

from __future__ import annotations


class SegsimError(Exception):
    """A mistake the user can fix. `fix` says how, when we know."""

    def __init__(self, problem: str, fix: str | None = None, status_code: int = 400):
        self.problem = problem
        self.fix = fix
        self.status_code = status_code  # used by the HTTP API (400, 413, 415, 422 ...)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.problem} (fix: {self.fix})" if self.fix else self.problem
