"""The one error tree of webqa.

::

    WebQAError                  base; the CLI prints its message and exits non-zero
    ├── ConfigError             bad flag, missing or unreadable corpus, bad template: fails at start
    ├── ActionError             the model's (or person's) fault; becomes the next observation
    │   ├── FormatError         the text is not one readable command
    │   └── InvalidAction       bad link id, Back on the first page, quote not on the page, limits
    ├── FetchError(url)         a page or search could not be had; becomes the next observation
    │   ├── BlockedError        refused by the address guard or the domain block list
    │   ├── HTTPStatusError     the server answered with an error status
    │   ├── FetchTimeout        connect, read or total time ran out
    │   ├── TooLargeError       the body (or its decoded form) passed the size cap
    │   ├── UnsupportedContent  a content type webqa cannot read
    │   └── SearchError         the search engine failed (names the engine)
    └── ModelError              the LLM call failed after retries; the run ends with status "error"

Foreign exceptions (httpx, openai, libzim, sqlite3) are wrapped where they enter webqa,
with ``raise ... from exc``, so callers only ever catch these.
"""

from __future__ import annotations

import logging

# A library says nothing unless its user configures logging: without a handler of its own,
# webqa's warnings would reach stderr through logging's last-resort handler. It is set here
# because every part of webqa that logs imports the error tree first (and `webqa --help`
# imports neither).
logging.getLogger("webqa").addHandler(logging.NullHandler())

__all__ = [
    "WebQAError",
    "ConfigError",
    "ActionError",
    "FormatError",
    "InvalidAction",
    "FetchError",
    "BlockedError",
    "HTTPStatusError",
    "FetchTimeout",
    "TooLargeError",
    "UnsupportedContent",
    "SearchError",
    "ModelError",
]


class WebQAError(Exception):
    """Base of every error webqa raises on purpose."""


class ConfigError(WebQAError):
    """Configuration or input that makes a run impossible; raised before browsing starts."""


class ActionError(WebQAError):
    """A command that cannot be carried out; the run goes on and the message is shown."""


class FormatError(ActionError):
    """Text that is not exactly one readable command."""


class InvalidAction(ActionError):
    """A well-formed command that cannot apply here (bad link id, quote not on the page, ...)."""


class FetchError(WebQAError):
    """A page or a search result list could not be obtained."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class BlockedError(FetchError):
    """The address guard or the domain block list refused the URL."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, url: str = "", status: int = 0) -> None:
        super().__init__(message, url=url)
        self.status = status


class FetchTimeout(FetchError):
    """A connect, read or total time limit ran out."""


class TooLargeError(FetchError):
    """The response passed the configured size cap."""


class UnsupportedContent(FetchError):
    """A content type webqa cannot turn into text."""


class SearchError(FetchError):
    """The search engine failed; the message names the engine."""


class ModelError(WebQAError):
    """The language model could not be reached or answered unusably, after retries.

    ``status`` is the HTTP status of the last answer (None when none came), ``tries`` how many
    requests were made, and ``retryable`` whether the failure was of a kind that may pass if
    tried again later (a timeout, a refused connection, HTTP 429 or 5xx), as opposed to one
    that will not (a bad key, a wrong model name, a malformed reply).
    """

    def __init__(
        self, message: str, *, status: int | None = None, tries: int = 0, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.tries = tries
        self.retryable = retryable
