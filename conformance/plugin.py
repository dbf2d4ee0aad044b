"""The pytest plugin (entry point ``pytest11: dicomweb = conformance.plugin``).

It adds the ``--dicomweb-*`` options and ini keys, registers the ``behavior`` and
``requires`` markers, validates every behaviour ID at collection, skips what the target's
profile does not claim, hands out the target through fixtures, renders conformance failures
(behaviour, Expected / Received, curl line, response) and removes what each test stored.

Results and reports: on the controller a ``ResultsWriter`` (``conformance.reporting``) collects
every report and writes results.json, report.html, summary.md and the draft conformance
statement, gated by an optional baseline of known deviations (``--dicomweb-baseline``). Each
report carries, in ``user_properties``, the test's behaviour IDs, its failure evidence (secrets
scrubbed, patient fields masked), a summary of its exchanges and the capabilities it required;
with ``--alluredir`` the test is labelled and its exchanges attached in the process running it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest

from conformance.client.client import DicomwebClient
from conformance.client.exchange import Exchange, ExchangeLog
from conformance.core.errors import ConfigurationError, ConformanceFailure, SuiteError
from conformance.ledger import CleanupOutcome, Ledger, remove
from conformance.profile import Capability, Profile
from conformance.registry import Behavior, RequirementLevel, load_registry
from conformance.rendering import render_failure
from conformance.reporting.allure_results import allure_active, attach_exchanges, label_test
from conformance.reporting.baseline import Baseline
from conformance.reporting.masking import mask_evidence, mask_patient_fields
from conformance.reporting.results import ResultsWriter
from conformance.reporting.transactions import summarize_all
from conformance.session import TargetSession
from conformance.settings import Settings
from conformance.testdata import InstanceFactory

SETTINGS_KEY = pytest.StashKey[Settings]()
SETTINGS_ERROR_KEY = pytest.StashKey[str]()
SESSION_KEY = pytest.StashKey[TargetSession]()
WRITER_KEY = pytest.StashKey[ResultsWriter]()
BEHAVIORS_KEY = pytest.StashKey[tuple[Behavior, ...]]()
LOG_KEY = pytest.StashKey[ExchangeLog]()
LABELLED_KEY = pytest.StashKey[bool]()
CLEANUP_KEY = pytest.StashKey[CleanupOutcome]()
WORKER_OUTPUT = "dicomweb_session"  # key of what an xdist worker sends its controller

SUITES_PACKAGE = "conformance.suites"

_OPTIONS: list[tuple[str, str, str | None]] = [
    # (option, help, ini key)
    (
        "dicomweb-url",
        "base URL of the target, including the API version segment (e.g. https://host/v2); "
        "without it the bundled reference server is started [env DICOMWEB_URL]",
        "dicomweb_url",
    ),
    (
        "dicomweb-profile",
        "what the target claims: a bundled profile name (reference, reference-v1, reference-partitions, azure-v1, "
        "azure-v2, orthanc, generic) or a TOML file; a profile claiming partitions runs in a fresh partition "
        "(dwc-<12 hex>) unless the URL names one [env DICOMWEB_PROFILE]",
        "dicomweb_profile",
    ),
    (
        "dicomweb-auth",
        "none, basic (DICOMWEB_USER / DICOMWEB_PASSWORD) or bearer (DICOMWEB_TOKEN) [env DICOMWEB_AUTH]",
        "dicomweb_auth",
    ),
    ("dicomweb-timeout", "seconds to wait for each answer (default 30) [env DICOMWEB_TIMEOUT]", "dicomweb_timeout"),
    (
        "dicomweb-poll-timeout",
        "seconds to wait for asynchronous work to finish (default 60) [env DICOMWEB_POLL_TIMEOUT]",
        "dicomweb_poll_timeout",
    ),
    (
        "dicomweb-report-dir",
        "folder the results are written to (default reports) [env DICOMWEB_REPORT_DIR]",
        "dicomweb_report_dir",
    ),
    (
        "dicomweb-hypothesis-examples",
        "examples per property-based (hypothesis) test; runs are deterministic, raise it for deeper runs "
        "(default 20) [env DICOMWEB_HYPOTHESIS_EXAMPLES]",
        "dicomweb_hypothesis_examples",
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dicomweb", "DICOMweb conformance")
    for name, help_text, ini in _OPTIONS:
        group.addoption(f"--{name}", dest=name.replace("-", "_"), default=None, help=help_text)
        if ini:
            parser.addini(ini, help_text.split(" [env")[0])
    group.addoption(
        "--dicomweb-behavior",
        dest="dicomweb_behavior",
        action="append",
        default=[],
        help="run only these behaviour IDs or groups (STOW-07, STOW, DEL); repeat or separate with commas",
    )
    group.addoption(
        "--dicomweb-baseline",
        dest="dicomweb_baseline",
        default=None,
        help="TOML or JSON file of known deviations ([deviations] ID = reason): the run fails only on failures "
        "not listed [env DICOMWEB_BASELINE]",
    )
    parser.addini("dicomweb_baseline", "TOML or JSON file of known deviations")
    group.addoption(
        "--dicomweb-strict-baseline",
        dest="dicomweb_strict_baseline",
        action="store_true",
        default=False,
        help="with a baseline, also fail when a listed behaviour now passes (a stale entry)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "behavior(*ids): the behaviour IDs of the registry this test checks (e.g. STOW-07); "
        "unknown IDs are a collection error",
    )
    config.addinivalue_line(
        "markers",
        "requires(*capabilities): profile capabilities the test needs; skipped when the target does not claim them",
    )
    options = {name.replace("-", "_"): config.getoption(name.replace("-", "_")) for name, _, _ in _OPTIONS}
    options["dicomweb_behavior"] = config.getoption("dicomweb_behavior")
    ini = {ini_key: config.getini(ini_key) or None for _, _, ini_key in _OPTIONS if ini_key}
    try:
        config.stash[SETTINGS_KEY] = Settings.from_sources(options, ini, os.environ)
    except SuiteError as exc:
        # Reported when a conformance test is collected, so unrelated test runs are unaffected.
        config.stash[SETTINGS_ERROR_KEY] = str(exc)
        return
    if not hasattr(config, "workerinput"):
        writer = ResultsWriter(config.stash[SETTINGS_KEY], load_registry())
        baseline_path = (
            config.getoption("dicomweb_baseline")
            or os.environ.get("DICOMWEB_BASELINE")
            or config.getini("dicomweb_baseline")
        )
        if baseline_path:
            try:
                writer.baseline = Baseline.load(str(baseline_path), load_registry())
            except SuiteError as exc:
                raise pytest.UsageError(f"dicomweb-conformance configuration error: {exc}") from None
        writer.strict_baseline = bool(config.getoption("dicomweb_strict_baseline"))
        writer.alluredir = getattr(config.option, "allure_report_dir", None)
        config.stash[WRITER_KEY] = writer
        config.pluginmanager.register(writer, "dicomweb-results")


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(WRITER_KEY, None)
    if writer is not None:
        config.pluginmanager.unregister(writer)


def pytest_report_header(config: pytest.Config) -> list[str]:
    error = config.stash.get(SETTINGS_ERROR_KEY, None)
    if error is not None:
        return [f"dicomweb: configuration error: {error}"]
    settings = config.stash[SETTINGS_KEY]
    target = settings.url or "embedded reference server (started on a free loopback port)"
    profile = settings.profile
    return [
        f"dicomweb target: {target}",
        f"dicomweb profile: {profile.name} ({profile.source}), API {profile.api_version or 'unversioned'}, "
        f"auth {settings.credentials.kind.value}, timeout {settings.timeout:g} s",
    ]


def settings_of(config: pytest.Config) -> Settings:
    error = config.stash.get(SETTINGS_ERROR_KEY, None)
    if error is not None:
        raise pytest.UsageError(f"dicomweb-conformance configuration error: {error}")
    return config.stash[SETTINGS_KEY]


def _marked_ids(item: pytest.Item) -> list[str]:
    return [str(arg) for marker in item.iter_markers("behavior") for arg in marker.args]


def _in_suites(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return bool(module and module.__name__.startswith(SUITES_PACKAGE))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    registry = load_registry()
    relevant = False
    for item in items:
        ids = _marked_ids(item)
        if not ids:
            if _in_suites(item):
                raise pytest.UsageError(f"{item.nodeid}: a conformance test must carry @pytest.mark.behavior(...)")
            continue
        relevant = True
        unknown = [i for i in ids if i not in registry]
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: unknown behaviour ID(s) {', '.join(unknown)} "
                "(not in the behaviour registry, conformance/behaviors.json)"
            )
        item.stash[BEHAVIORS_KEY] = tuple(registry.get(i) for i in ids)
    if not relevant:
        return
    settings = settings_of(config)
    if settings.selection:
        for token in settings.selection:
            if token not in registry and not registry.in_group(token):
                raise pytest.UsageError(f"--dicomweb-behavior {token!r} is neither a behaviour ID nor a group")
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            behaviors = item.stash.get(BEHAVIORS_KEY, ())
            wanted = any(b.id in settings.selection or b.group in settings.selection for b in behaviors)
            (keep if wanted else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    # Skips are decided here, from the profile, so each is reported at its test's location.
    for item in items:
        if BEHAVIORS_KEY not in item.stash:
            continue
        behaviors = item.stash[BEHAVIORS_KEY]
        required = [str(arg) for marker in item.iter_markers("requires") for arg in marker.args]
        reason = skip_reason(behaviors, required, settings.profile)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def skip_reason(behaviors: tuple[Behavior, ...], required: list[str], profile: Profile) -> str | None:
    """Why a test does not apply to the target, or None when it does."""
    for capability in required:
        try:
            claimed = profile.claims(capability)
        except ValueError:
            raise pytest.UsageError(f"requires({capability!r}): not a capability ({', '.join(Capability)})") from None
        if not claimed:
            return f"not supported: profile {profile.name!r} does not claim capability {capability!r}"
    for behavior in behaviors:
        if behavior.id in profile.not_claimed:
            return f"not claimed: {behavior.id}: {profile.not_claimed[behavior.id]}"
    if (
        behaviors
        and not profile.azure_compatible
        and all(b.level is RequirementLevel.AZURE_COMPATIBLE for b in behaviors)
    ):
        ids = ", ".join(b.id for b in behaviors)
        return (
            f"not claimed: {ids} known only from the Azure implementation and profile "
            f"{profile.name!r} does not claim Azure compatibility"
        )
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    behaviors = item.stash.get(BEHAVIORS_KEY, None)
    if behaviors is None:
        return report
    report.user_properties.append(("dicomweb_behaviors", ",".join(b.id for b in behaviors)))
    settings = item.config.stash.get(SETTINGS_KEY, None)
    scrub = settings.scrub if settings else _unchanged
    log = item.stash.get(LOG_KEY, None)
    exchange = None
    excinfo = call.excinfo
    if excinfo is not None and report.failed and isinstance(excinfo.value, ConformanceFailure):
        failure = excinfo.value
        exchange = failure.exchange or (log.last if log else None)
        text = mask_patient_fields(render_failure(failure, behaviors, exchange, scrub=scrub))
        report.longrepr = text
        evidence = {
            "behavior": (failure.behavior or behaviors[0]).id,
            # Set only when a check named the behaviour it speaks for (conformance.checks.checking);
            # otherwise the failure counts against every behaviour the test carries.
            "attributed": failure.behavior.id if failure.behavior is not None else None,
            "message": failure.message,
            "expected": failure.detail.expected,
            "received": failure.detail.received,
            "exchange": exchange.to_json() if exchange else None,
            "text": text,
        }
        report.user_properties.append(("dicomweb_failure", json.dumps(mask_evidence(evidence, scrub))))
    if call.when == "call" or (call.when == "setup" and not report.passed):
        _record_exchanges(item, report, behaviors, log, exchange, scrub)
    cleanup = item.stash.get(CLEANUP_KEY, None)
    if call.when == "teardown" and cleanup is not None and (cleanup.left or cleanup.problems):
        report.user_properties.append(
            ("dicomweb_cleanup", json.dumps({"left": cleanup.left, "problems": cleanup.problems}))
        )
    return report


def _unchanged(text: str) -> str:
    return text


def _record_exchanges(
    item: pytest.Item,
    report: pytest.TestReport,
    behaviors: tuple[Behavior, ...],
    log: ExchangeLog | None,
    evidence: Exchange | None,
    scrub: Callable[[str], str],
) -> None:
    """What the reports need of the test's exchanges: a summary for the conformance statement,
    the capabilities the test required, and (with --alluredir) the Allure labels and attachments."""
    exchanges = list(log.exchanges) if log else []
    summaries = summarize_all(exchanges)
    if summaries:
        report.user_properties.append(("dicomweb_exchanges", json.dumps(summaries)))
    required = [str(arg) for marker in item.iter_markers("requires") for arg in marker.args]
    if required:
        report.user_properties.append(("dicomweb_requires", ",".join(required)))
    if allure_active(item.config) and not item.stash.get(LABELLED_KEY, False):
        item.stash[LABELLED_KEY] = True
        label_test(behaviors, summaries)
        attach_exchanges(exchanges, evidence, scrub)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dicomweb_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's frozen settings (options, ini, environment)."""
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def dicomweb_session(dicomweb_settings: Settings, pytestconfig: pytest.Config) -> Iterator[TargetSession]:
    """The target, opened once per process; harness problems end the run with a clear error."""
    session = TargetSession(dicomweb_settings)
    try:
        session.open()
    except SuiteError as exc:
        session.close()
        kind = "configuration error" if isinstance(exc, ConfigurationError) else "harness error"
        pytest.exit(
            f"dicomweb-conformance {kind}: {dicomweb_settings.scrub(str(exc))}", returncode=pytest.ExitCode.USAGE_ERROR
        )
    pytestconfig.stash[SESSION_KEY] = session
    writer = pytestconfig.stash.get(WRITER_KEY, None)
    if writer is not None:
        writer.base_url = session.base_url
    try:
        yield session
    finally:
        session.close()
        if writer is not None:
            writer.cleanup = session.cleanup
        workeroutput = getattr(pytestconfig, "workeroutput", None)
        if workeroutput is not None:
            # An xdist worker: the controller writes the results; it merges this in pytest_testnodedown.
            workeroutput[WORKER_OUTPUT] = json.dumps({"base_url": session.base_url, **asdict(session.cleanup)})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: add a finished worker's cleanup outcome (and target URL) to the results."""
    writer = node.config.stash.get(WRITER_KEY, None)
    sent = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if writer is None or sent is None:
        return
    worker = json.loads(sent)
    writer.base_url = writer.base_url or worker["base_url"]
    merged = writer.cleanup or CleanupOutcome()
    merged.deleted += worker["deleted"]
    merged.left += worker["left"]
    merged.problems += worker["problems"]
    writer.cleanup = merged


@pytest.fixture
def profile(dicomweb_settings: Settings) -> Profile:
    """The profile of the target: what it claims."""
    return dicomweb_settings.profile


@dataclass
class Dicomweb:
    """What a conformance test works with: a recording client bound to the test, the
    profile, and a factory of fresh test instances."""

    client: DicomwebClient
    profile: Profile
    settings: Settings
    ledger: Ledger
    instances: InstanceFactory = field(repr=False)

    def require(self, capability: Capability | str) -> None:
        """Skip the running test unless the target claims ``capability``."""
        if not self.profile.claims(capability):
            name = Capability(capability).value
            pytest.skip(f"not supported: profile {self.profile.name!r} does not claim capability {name!r}")


@pytest.fixture
def dicomweb(request: pytest.FixtureRequest, dicomweb_session: TargetSession) -> Iterator[Dicomweb]:
    """The target for one test. Everything the test stores is deleted when it ends."""
    log = ExchangeLog()
    ledger = Ledger()
    request.node.stash[LOG_KEY] = log

    client = dicomweb_session.client.bound_to(log, on_store=ledger.record)
    context = Dicomweb(
        client=client,
        profile=dicomweb_session.settings.profile,
        settings=dicomweb_session.settings,
        ledger=ledger,
        instances=InstanceFactory(),
    )
    yield context
    cleanup_log = ExchangeLog()  # the cleanup's own requests are not evidence for the test
    outcome = remove(dicomweb_session.client.bound_to(cleanup_log), ledger.take_all(), context.profile.cleanup)
    # Workitems cannot be deleted: the ones this test created are moved to a final state.
    finished = client.finish_workitems()
    outcome.left += finished.left
    outcome.problems += finished.problems
    request.node.stash[CLEANUP_KEY] = outcome
    dicomweb_session.cleanup.deleted += outcome.deleted
    dicomweb_session.cleanup.left += outcome.left
    dicomweb_session.cleanup.problems += outcome.problems
