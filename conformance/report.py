"""Kept for importers of the first release: the results writer lives in
``conformance.reporting.results`` (with the reports built from it in ``conformance.reporting``)."""

from conformance.reporting.results import RESULTS_FILE, ResultsWriter, TestRecord, suite_version

__all__ = ["RESULTS_FILE", "ResultsWriter", "TestRecord", "suite_version"]
