"""The conformance tests. Run them with ``pytest --pyargs conformance.suites`` or
``dicomweb-conformance run``; each test carries the behaviour IDs it checks."""
