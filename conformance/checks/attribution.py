"""Which behaviour a failing check speaks for, when one test carries several IDs.

A test marked ``@pytest.mark.behavior("STOW-12", "STOW-15")`` fails against the first of its
IDs unless a failure says otherwise. ``checking`` says otherwise for a block of checks::

    with checking("STOW-15"):
        expect_status(response, 202, why="one valid instance beside a non-DICOM part")

The report then counts the failure against STOW-15 only; the test's other IDs are reported as
not evaluated by it rather than as failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.core.errors import ConformanceFailure
from conformance.registry import load_registry


@contextmanager
def checking(behavior_id: str) -> Iterator[None]:
    """Attribute the conformance failures raised inside the block to ``behavior_id``."""
    behavior = load_registry().get(behavior_id)
    try:
        yield
    except ConformanceFailure as failure:
        if failure.behavior is None:
            failure.behavior = behavior
        raise
