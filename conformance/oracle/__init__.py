"""A model-based oracle for QIDO-RS: the documented matching rules as pure code, no I/O.

``SearchModel`` holds what a target stored and answers a ``SearchQuery`` the way the rules
say the target must (the matching UIDs newest first, or ``InvalidQuery`` for a 400);
``return_set`` says which attributes each match carries. The property-based suite
(``conformance.suites.test_qido_oracle``) stores generated studies on the target and
compares its answers with this model.
"""

from conformance.oracle.attributes import (
    SEARCHABLE,
    STANDARD_REQUIRED,
    Level,
    MatchKind,
    Resource,
    SearchableAttribute,
    searchable,
)
from conformance.oracle.matching import InvalidFilter, MatchingRules
from conformance.oracle.model import InvalidQuery, SearchModel, SearchQuery, StoredRecord, parse
from conformance.oracle.returns import ReturnSet, level_set, return_set

__all__ = [
    "SEARCHABLE",
    "STANDARD_REQUIRED",
    "InvalidFilter",
    "InvalidQuery",
    "Level",
    "MatchKind",
    "MatchingRules",
    "Resource",
    "ReturnSet",
    "SearchModel",
    "SearchQuery",
    "SearchableAttribute",
    "StoredRecord",
    "level_set",
    "parse",
    "return_set",
    "searchable",
]
