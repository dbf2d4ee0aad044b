"""Results and reports of a conformance run.

``results``     the ``ResultsWriter`` plugin object: per-behaviour results of a run (results.json)
``outputs``     writes results.json and the reports derived from it
``html``        the self-contained HTML report (report.css and report.js are inlined)
``markdown``    the Markdown summary for pull requests
``statement``   the draft conformance statement, derived from what passed
``baseline``    known deviations for CI gating, and the verdict against them
``diff``        the difference between two results files
``allure_results``  Allure labels (epic = service, feature = transaction, story = behaviour ID)
``masking``     patient fields masked in every piece of evidence
``transactions``    which service and transaction an exchange belongs to
"""
