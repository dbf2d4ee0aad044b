"""The ``dicomweb-conformance`` command.

``run``       run the conformance suite against a URL, or by default against the embedded
              reference server; everything goes to ``reports/``: results.json, junit.xml,
              allure-results/, report.html, summary.md, conformance-statement.md
``serve``     run the bundled reference server in the foreground
``report``    rebuild report.html, summary.md and the statement from a results.json
``diff``      compare two results files: new failures, fixed, changed (exit 1 on new failures)
``baseline``  write a baseline of known deviations listing the failures of a results file
``detect``    probe a target and write a *draft* profile (never used unless passed to --profile)
``fixtures``  write the suite's DICOM test files to a folder, to try them with other tools
``behaviors`` list the behaviour registry

Secrets are taken from the environment only (``DICOMWEB_USER``, ``DICOMWEB_PASSWORD``,
``DICOMWEB_TOKEN``), never from the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.registry import GROUPS, load_registry

EXIT_USAGE = 4
DICOM_JSON = "application/dicom+json"


def _run(args: argparse.Namespace, passthrough: list[str]) -> int:
    import pytest

    report_dir = Path(args.report_dir)
    pytest_args = [
        "--pyargs",
        "conformance.suites",
        "-p",
        "no:cacheprovider",
        "-rfEs",
        # The command imported the plugin package before pytest could register it for assertion
        # rewriting; the suite does not rely on rewritten asserts, so the warning is noise.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        f"--junitxml={report_dir / 'junit.xml'}",
        "-o",
        "junit_family=xunit2",
        f"--dicomweb-report-dir={report_dir}",
    ]
    if not args.no_allure:
        pytest_args += [f"--alluredir={report_dir / 'allure-results'}", "--clean-alluredir"]
    for option, value in (("url", args.url), ("profile", args.profile), ("auth", args.auth), ("timeout", args.timeout)):
        if value is not None:
            pytest_args.append(f"--dicomweb-{option}={value}")
    for selection in args.behavior or ():
        pytest_args.append(f"--dicomweb-behavior={selection}")
    if args.baseline:
        pytest_args.append(f"--dicomweb-baseline={args.baseline}")
    if args.strict_baseline:
        pytest_args.append("--dicomweb-strict-baseline")
    if args.workers:
        pytest_args += ["-n", args.workers]
    if args.quiet:
        pytest_args.append("-q")
    if args.verbose:
        pytest_args.append("-v")
    return int(pytest.main(pytest_args + passthrough))


def _serve(args: argparse.Namespace) -> int:
    from reference_server.cli import main as serve_main

    argv = ["--host", args.host, "--port", str(args.port), "--data", args.data]
    return serve_main(argv)


def _load_results(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"dicomweb-conformance: {path}: not a readable results file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("behaviors"), dict):
        raise SystemExit(f"dicomweb-conformance: {path}: not a results file (no 'behaviors')")
    return data


def _report(args: argparse.Namespace) -> int:
    from conformance.core.errors import SuiteError
    from conformance.reporting.baseline import Baseline, evaluate
    from conformance.reporting.outputs import write_reports

    results = _load_results(args.results)
    if args.baseline:
        try:
            baseline = Baseline.load(args.baseline, load_registry())
        except SuiteError as exc:
            print(f"dicomweb-conformance: {exc}", file=sys.stderr)
            return EXIT_USAGE
        verdict = evaluate(baseline, results["behaviors"], strict=args.strict_baseline)
        results["baseline"] = verdict.to_json()
        for entry in results["behaviors"].values():
            entry.pop("baselined", None)
        for behavior_id, reason in baseline.deviations.items():
            results["behaviors"][behavior_id]["baselined"] = reason
    folder = Path(args.out) if args.out else Path(args.results).parent
    for path in write_reports(results, folder, with_json=bool(args.baseline)):
        print(path)
    baseline_json = results.get("baseline")
    return 1 if baseline_json and not baseline_json["passed"] else 0


def _diff(args: argparse.Namespace) -> int:
    from conformance.reporting.diff import diff_markdown, diff_results

    old, new = _load_results(args.old), _load_results(args.new)
    difference = diff_results(old, new)
    print(json.dumps(difference.to_json(), indent=1) if args.json else diff_markdown(difference, old, new), end="")
    return 1 if difference.new_failures else 0


def _baseline(args: argparse.Namespace) -> int:
    from conformance.reporting.baseline import baseline_toml

    results = _load_results(args.results)
    text = baseline_toml(results, title=str(results.get("target", {}).get("profile", "")))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"baseline written to {args.out}: review every reason before you commit it", file=sys.stderr)
    else:
        print(text, end="")
    return 0


# What ``detect`` asks, per capability: method, URL (from base, root, version root), and the
# statuses that mean the capability is there. A versioned API refuses unversioned routes
# (GEN-01); deleting an unknown study answers 404 where delete exists.
_DETECT_PROBES: dict[str, tuple[str, str, tuple[int, ...]]] = {
    "api_versioning": ("GET", "{root}/studies", (400, 404)),
    "openapi": ("GET", "{version_root}/api.yaml", (200,)),
    "health_check": ("GET", "{root}/health/check", (200, 503)),
    "delete": ("DELETE", "{base}/studies/{fresh}", (202, 204, 404)),
    "workitems": ("GET", "{base}/workitems", (200, 204)),
    "change_feed": ("GET", "{version_root}/changefeed", (200,)),
    "extended_query_tags": ("GET", "{version_root}/extendedquerytags", (200,)),
    "partitions": ("GET", "{version_root}/partitions", (200,)),
}
_UNPROBED = "store_single_part, rendered, bulk_update, export, large_instances"


def _detect(args: argparse.Namespace) -> int:
    """Probe a target with harmless requests and write a draft profile. Only reads, plus one
    DELETE of a study under a fresh random ``2.25.`` UID that nobody else can hold."""
    import os
    import re
    import tomllib
    from datetime import UTC, datetime

    import httpx

    from conformance.client.client import make_http_client
    from conformance.core.errors import SuiteError
    from conformance.core.uids import new_uid
    from conformance.profile import Profile
    from conformance.settings import Settings

    try:
        settings = Settings.from_sources({"dicomweb_url": args.url, "dicomweb_auth": args.auth}, {}, os.environ)
    except SuiteError as exc:
        print(f"dicomweb-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    base = str(settings.url)
    last = base.rsplit("/", 1)[-1]
    version = last if re.fullmatch(r"v\d+(\.\d+)?(-prerelease)?", last) else ""
    root = base.removesuffix(f"/{version}") if version else base
    places = {"base": base, "root": root, "version_root": base if version else root, "fresh": new_uid()}
    authorization = settings.credentials.authorization_header()
    with make_http_client(timeout=float(args.timeout), authorization=authorization) as http:

        def ask(method: str, url: str, **kwargs: Any) -> httpx.Response | None:
            try:
                return http.request(method, url, **kwargs)
            except httpx.HTTPError:
                return None

        first = ask("GET", f"{base}/studies", params={"StudyInstanceUID": new_uid()}, headers={"Accept": DICOM_JSON})
        if first is None or first.status_code in (401, 403):
            problem = "did not answer" if first is None else f"refused the request ({first.status_code}); check --auth"
            print(f"dicomweb-conformance: {base} {problem}", file=sys.stderr)
            return EXIT_USAGE
        system = ask("GET", f"{root.removesuffix('/dicom-web')}/system")
        orthanc = system is not None and system.status_code == 200 and "DicomAet" in system.text
        found: dict[str, tuple[bool, str]] = {}
        for capability, (method, template, yes) in _DETECT_PROBES.items():
            if not version and capability in ("api_versioning", "openapi"):
                found[capability] = (False, "the URL has no API version segment")
                continue
            url = template.format(**places)
            answer = ask(method, url, headers={"Accept": DICOM_JSON} if capability == "workitems" else None)
            status = answer.status_code if answer is not None else 0
            found[capability] = (status in yes, f"{method} {url} answered {status or 'nothing'}")
    azure = bool(first.headers.get("api-supported-versions"))
    name = "Orthanc DICOMweb plugin" if orthanc else "DICOMweb server"
    lines = [
        f"# DRAFT profile written by `dicomweb-conformance detect` on {datetime.now(UTC):%Y-%m-%d} from {base}.",
        "# The suite never trusts it: a run uses it only when passed with --profile, and every value below",
        "# must first be checked against the vendor's documentation. What cannot be probed without",
        f"# storing data ({_UNPROBED})",
        "# is false: claim it only where the vendor documents it.",
        "",
        "[target]",
        f'name = "{name} (draft)"',
        f'description = "Probed at {base}."',
        f'api_version = "{version}"',
        f"versions_served = {json.dumps([version] if version else [])}",
        f"azure_compatible = {str(azure).lower()}  # api-supported-versions header {'seen' if azure else 'absent'}",
        "",
        "[capabilities]",
    ]
    lines += [f"{cap} = {str(ok).lower()}  # {why}" for cap, (ok, why) in found.items()]
    lines.append(f"authentication = {str(authorization is not None).lower()}")
    empty = 200 if first.status_code == 200 else 204
    lines += ["", "[responses]", f"empty_search = {empty}  # a search without matches answered {first.status_code}"]
    cleanup = "orthanc-rest" if orthanc else "dicomweb" if found["delete"][0] else "none"
    lines += ["", "[cleanup]", f'method = "{cleanup}"']
    text = "\n".join(lines) + "\n"
    Profile.from_mapping(tomllib.loads(text), source=args.out)  # the draft must at least load
    Path(args.out).write_text(text, encoding="utf-8")
    print(
        f"draft profile written to {args.out}\n"
        "It is a DRAFT built from a few harmless requests: the run does not trust it and never uses it by itself.\n"
        f"Review every value against the vendor's documentation, then run with --profile {args.out}."
    )
    return 0


def _fixtures(args: argparse.Namespace) -> int:
    from conformance.testdata import write_fixture_files

    written = write_fixture_files(Path(args.out))
    for path in written:
        print(path)
    return 0


def _behaviors(args: argparse.Namespace) -> int:
    registry = load_registry()
    for behavior in registry:
        if args.group and behavior.group != args.group.upper():
            continue
        print(f"{behavior.id:9} {behavior.level.value:16} {behavior.title}")
    return 0


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run the conformance suite",
        description=(
            "Run the suite. Without --url the bundled reference server is started. Writes results.json, "
            "junit.xml, allure-results/, report.html, summary.md and conformance-statement.md to the report "
            "folder. Extra arguments after '--' go to pytest."
        ),
    )
    run.add_argument("--url", help="target base URL including the API version, e.g. https://host/v2")
    run.add_argument("--profile", help="bundled profile name or TOML file describing what the target claims")
    run.add_argument("--auth", choices=["none", "basic", "bearer"], help="credentials come from the environment")
    run.add_argument("--timeout", help="seconds per request (default 30)")
    run.add_argument(
        "--behavior",
        action="append",
        metavar="ID_OR_GROUP",
        help=f"select behaviour IDs or groups ({', '.join(GROUPS)}); repeatable, comma-separated",
    )
    run.add_argument("--report-dir", default="reports", help="where results are written (default: reports)")
    run.add_argument("--baseline", metavar="FILE", help="known deviations (TOML/JSON): fail only on new failures")
    run.add_argument("--strict-baseline", action="store_true", help="also fail on stale baseline entries")
    run.add_argument("--no-allure", action="store_true", help="do not write allure-results/")
    run.add_argument("-n", "--workers", help="parallel workers (pytest-xdist), e.g. auto")
    run.add_argument("-q", "--quiet", action="store_true", help="less output")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per test")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dicomweb-conformance", description="DICOMweb conformance suite")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)

    serve = sub.add_parser("serve", help="run the bundled reference server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data", default="./dicomweb-data", help="data folder (created if missing)")

    report = sub.add_parser("report", help="rebuild report.html, summary.md and the statement from a results file")
    report.add_argument("results", help="a results.json written by a run")
    report.add_argument("--out", help="folder for the reports (default: the results file's folder)")
    report.add_argument("--baseline", metavar="FILE", help="apply this baseline (results.json is rewritten)")
    report.add_argument("--strict-baseline", action="store_true", help="stale baseline entries fail")

    diff = sub.add_parser("diff", help="compare two results files; exit 1 when NEW has new failures")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--json", action="store_true", help="machine-readable output")

    baseline = sub.add_parser("baseline", help="write a baseline listing the failures of a results file")
    baseline.add_argument("results")
    baseline.add_argument("--out", help="file to write (default: standard output)")

    detect = sub.add_parser("detect", help="probe a target and write a draft profile (TOML) to review")
    detect.add_argument("--url", required=True, help="target base URL including the API version")
    detect.add_argument("--out", required=True, help="file to write the draft profile to")
    detect.add_argument("--auth", choices=["none", "basic", "bearer"], help="credentials come from the environment")
    detect.add_argument("--timeout", default="15", help="seconds per request (default 15)")

    fixtures = sub.add_parser("fixtures", help="write the suite's DICOM test files to a folder")
    fixtures.add_argument("--out", required=True)

    behaviors = sub.add_parser("behaviors", help="list the behaviour registry")
    behaviors.add_argument("--group", help="only this group")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args, passthrough)
    commands = {
        "serve": _serve,
        "report": _report,
        "diff": _diff,
        "baseline": _baseline,
        "detect": _detect,
        "fixtures": _fixtures,
        "behaviors": _behaviors,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
