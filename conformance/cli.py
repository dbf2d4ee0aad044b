"""The ``dicomweb-conformance`` command.

``run``     run the conformance suite against a URL, or by default against the embedded
            reference server; results go to ``reports/`` (results.json, junit.xml)
``serve``   run the bundled reference server in the foreground
``fixtures``write the suite's DICOM test files to a folder, to try them with other tools
``behaviors`` list the behaviour registry

Secrets are taken from the environment only (``DICOMWEB_USER``, ``DICOMWEB_PASSWORD``,
``DICOMWEB_TOKEN``), never from the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.registry import GROUPS, load_registry


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
    for option, value in (("url", args.url), ("profile", args.profile), ("auth", args.auth), ("timeout", args.timeout)):
        if value is not None:
            pytest_args.append(f"--dicomweb-{option}={value}")
    for selection in args.behavior or ():
        pytest_args.append(f"--dicomweb-behavior={selection}")
    if args.workers:
        pytest_args += ["-n", args.workers]
    if args.quiet:
        pytest_args.append("-q")
    return int(pytest.main(pytest_args + passthrough))


def _serve(args: argparse.Namespace) -> int:
    from reference_server.cli import main as serve_main

    argv = ["--host", args.host, "--port", str(args.port), "--data", args.data]
    return serve_main(argv)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dicomweb-conformance", description="DICOMweb conformance suite")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the conformance suite",
        description=(
            "Run the suite. Without --url the bundled reference server is started. Extra arguments after "
            "'--' go to pytest."
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
        help=f"select behaviour IDs or groups ({', '.join(GROUPS)}); repeatable",
    )
    run.add_argument("--report-dir", default="reports", help="where results are written (default: reports)")
    run.add_argument("-n", "--workers", help="parallel workers (pytest-xdist), e.g. auto")
    run.add_argument("-q", "--quiet", action="store_true", help="less output")

    serve = sub.add_parser("serve", help="run the bundled reference server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data", default="./dicomweb-data", help="data folder (created if missing)")

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
    if args.command == "serve":
        return _serve(args)
    if args.command == "fixtures":
        return _fixtures(args)
    return _behaviors(args)


if __name__ == "__main__":
    raise SystemExit(main())
