"""The two error families of the suite.

``ConformanceFailure`` means *the server under test misbehaved*; everything under
``SuiteError`` means *the harness or its configuration is wrong* and must never be reported
as a failure of the target::

    AssertionError
     └── ConformanceFailure            the target broke a documented behaviour
          ├── MalformedResponse         the target answered something unparsable
          └── NoResponse                the target did not answer a request in time

    Exception
     └── SuiteError                    harness, configuration or usage problem
          ├── ConfigurationError        bad option, environment variable or profile
          ├── UnknownBehaviorError      a test names an ID that is not in the registry
          ├── TargetUnreachable         the target could not be reached at all
          └── DataSafetyError           the harness refused an action that could touch
                                        data it did not create

``ConformanceFailure`` derives from ``AssertionError`` so pytest reports it as a test failure;
a ``SuiteError`` surfaces as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.client.exchange import Exchange
    from conformance.registry import Behavior


@dataclass(frozen=True, slots=True)
class FailureDetail:
    """What a check found: the contrast between the requirement and the answer."""

    message: str
    expected: str | None = None
    received: str | None = None


class ConformanceFailure(AssertionError):
    """The target broke a behaviour.

    ``behavior`` may be left out by low-level helpers (a response accessor does not know which
    behaviour a test is about); the pytest plugin fills it in from the test's ``behavior``
    marker before the failure is rendered.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        received: str | None = None,
        behavior: Behavior | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message)
        self.detail = FailureDetail(message=message, expected=expected, received=received)
        self.behavior = behavior
        self.exchange = exchange

    @property
    def message(self) -> str:
        return self.detail.message

    def with_context(self, *, behavior: Behavior | None = None, exchange: Exchange | None = None) -> ConformanceFailure:
        """Fill in the behaviour and exchange where the raiser could not know them."""
        if self.behavior is None and behavior is not None:
            self.behavior = behavior
        if self.exchange is None and exchange is not None:
            self.exchange = exchange
        return self


class MalformedResponse(ConformanceFailure):
    """The target's answer could not be parsed: invalid JSON, broken multipart, not DICOM."""


class NoResponse(ConformanceFailure):
    """A request got no answer: timeout, connection reset or refused mid-run."""


class SuiteError(Exception):
    """Root of every harness-side problem; never a verdict on the target."""


class ConfigurationError(SuiteError):
    """An option, environment variable or profile value is missing or invalid.

    The message names the setting and where it came from.
    """


class UnknownBehaviorError(SuiteError):
    """A test is marked with a behaviour ID that the registry does not know."""


class TargetUnreachable(SuiteError):
    """The target did not answer at all (connection refused, DNS failure, TLS error, timeout)."""


class DataSafetyError(SuiteError):
    """The harness refused to act on data it did not create (for example a foreign UID)."""
