"""dicomweb-conformance: a conformance and test-harness suite for DICOMweb servers.

Layers (see ARCHITECTURE.md): ``conformance.core`` ← ``conformance.client`` ←
``conformance.checks`` ← ``conformance.suites``; the pytest plugin (``conformance.plugin``)
and the results writer (``conformance.report``) sit on top.
"""

from conformance.core.errors import ConformanceFailure, SuiteError

__all__ = ["ConformanceFailure", "SuiteError"]
