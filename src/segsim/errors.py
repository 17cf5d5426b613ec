"""One exception type for user mistakes.

Anything a user can fix (a bad flag, a wrong config field, a corrupt image, an empty folder)
raises SegsimError with what was wrong and how to fix it. The CLI turns it into a one-line
message and exit code 2; the API turns it into a 4xx JSON error. Never a traceback.
"""

from __future__ import annotations

import re


class SegsimError(Exception):
    """A mistake the user can fix. `fix` says how, when we know.

    `param` names the library parameter at fault (e.g. "count"). By convention a message names
    it at the start of `problem` ("count must be ...") or anywhere in `fix` ("pass e.g.
    count=1000"); a caller that knows the parameter by another name (the CLI: `--count`) swaps
    it in with `renamed`."""

    def __init__(
        self, problem: str, fix: str | None = None, status_code: int = 400, param: str | None = None
    ):
        self.problem = problem
        self.fix = fix
        self.status_code = status_code  # used by the HTTP API (400, 413, 415, 422 ...)
        self.param = param
        super().__init__(self.message)

    def renamed(self, name: str) -> SegsimError:
        """The same error with the parameter called `name` in its message and fix."""
        if not self.param:
            return self
        word = re.compile(rf"(?<![\w-]){re.escape(self.param)}(?![\w-])")
        problem = (
            word.sub(name, self.problem, count=1)
            if self.problem.startswith(self.param)
            else self.problem
        )
        fix = word.sub(name, self.fix) if self.fix else self.fix
        return SegsimError(problem, fix, self.status_code, self.param)

    @property
    def message(self) -> str:
        return f"{self.problem} (fix: {self.fix})" if self.fix else self.problem
