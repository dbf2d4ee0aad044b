#!/usr/bin/env python3
"""Benchmark a DICOMweb server on loopback: STOW, QIDO, WADO and metadata/frame latency.

Usage (the target must be a loopback URL; nothing is sent anywhere else)::

    python bench/dicomweb_bench.py --url http://127.0.0.1:8080/v2 \
        --studies 20 --series 2 --instances 50 --rows 64 --columns 64 --cleanup dicomweb

It stores synthetic data (fresh ``2.25.`` UIDs) of the given size, measures, prints one JSON
document, and removes what it stored (``--cleanup dicomweb`` uses DELETE, ``orthanc-rest``
Orthanc's REST API, ``none`` leaves it). Every request has a timeout and the whole run a
time budget (``--max-seconds``); the run stops early, with what it measured, when the budget
is spent. Figures, not assertions: compare two servers by running it against each.

Measured:

* ``stow_study_per_request``: one request per study (all its instances): instances/s, MB/s
* ``stow_instance_per_request``: one request per instance: instances/s, MB/s
* ``qido``: median and p95 latency (ms) of searches by PatientID, by name prefix with fuzzy
  matching, series by Modality across the server, instances by SOPInstanceUID
* ``retrieve_study``: MB/s retrieving whole studies (``transfer-syntax=*``)
* ``metadata`` and ``frame``: median and p95 latency (ms)

``--preload N`` first stores N more instances (8x8 pixels, ``--preload-per-request`` instances
per request, in studies of ``--preload-per-study``) so that the searches run over a server of
that size: compare the QIDO figures at 2 000 and 100 000 instances to see whether they stay
flat. The load has its own time budget (``--preload-max-seconds``) and is reported as
``preload`` (a bulk STOW figure too).
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from pydicom import Dataset, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conformance.core.multipart import encode_multipart_related, new_boundary

MAX_PRELOAD = 200_000  # a bound on what one run may store
UID_LENGTH = 44  # "2.25." + 39 digits: every UID the benchmark makes has this length
MODALITIES = ("CT", "MR", "US", "XA")
SURNAMES = ("Adams", "Baker", "Clark", "Davis", "Evans", "Fritz", "Gomez", "Hayes")


def fixed_uid() -> str:
    """A ``2.25.`` UID of exactly 44 characters (39 digits, no leading zero)."""
    value = uuid.uuid4().int % (9 * 10**38) + 10**38
    return f"2.25.{value}"


@dataclass
class Template:
    """A Part-10 instance whose identifying values are replaced by byte patching (same length)."""

    data: bytes
    slots: dict[str, str]

    def render(self, values: dict[str, str]) -> bytes:
        data = self.data
        for key, placeholder in self.slots.items():
            new = values[key]
            assert len(new) == len(placeholder), (key, new)
            data = data.replace(placeholder.encode("ascii"), new.encode("ascii"))
        return data


def make_template(rows: int, columns: int) -> Template:
    slots = {
        "study": fixed_uid(),
        "series": fixed_uid(),
        "sop": fixed_uid(),
        "patient_id": "PID-00000000",
        "patient_name": "Surnam^P000000",
        "modality": "ZZ",
        "accession": "ACC000000",
    }
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = slots["sop"]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = slots["sop"]
    ds.StudyInstanceUID = slots["study"]
    ds.SeriesInstanceUID = slots["series"]
    ds.PatientID = slots["patient_id"]
    ds.PatientName = slots["patient_name"]
    ds.Modality = slots["modality"]
    ds.AccessionNumber = slots["accession"]
    ds.StudyDate, ds.StudyTime = "20240102", "120000"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.random.default_rng(1).integers(0, 255, rows * columns, dtype=np.uint8).tobytes()
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return Template(buffer.getvalue(), slots)


@dataclass
class Instance:
    study: str
    series: str
    sop: str
    data: bytes


@dataclass
class Study:
    uid: str
    patient_id: str
    surname: str
    instances: list[Instance] = field(default_factory=list)


def build_studies(template: Template, count: int, series: int, per_series: int, rng: random.Random) -> list[Study]:
    studies = []
    for _ in range(count):
        surname = rng.choice(SURNAMES)
        study = Study(fixed_uid(), f"PID-{rng.randrange(10**8):08d}", surname)
        accession = f"ACC{rng.randrange(10**6):06d}"
        for _ in range(series):
            series_uid = fixed_uid()
            modality = rng.choice(MODALITIES)
            for _ in range(per_series):
                sop = fixed_uid()
                name = f"{surname}^P{rng.randrange(10**6):06d}".ljust(14, "X")[:14]
                data = template.render(
                    {
                        "study": study.uid,
                        "series": series_uid,
                        "sop": sop,
                        "patient_id": study.patient_id,
                        "patient_name": name,
                        "modality": modality,
                        "accession": accession,
                    }
                )
                study.instances.append(Instance(study.uid, series_uid, sop, data))
        studies.append(study)
    return studies


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> bool:
        return time.monotonic() < self.deadline


def stow(client: httpx.Client, instances: list[Instance]) -> None:
    boundary = new_boundary()
    body = encode_multipart_related(
        [([("Content-Type", "application/dicom")], i.data) for i in instances], boundary=boundary
    )
    response = client.post(
        "studies",
        content=body,
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
    )
    if response.status_code not in (200, 202):
        raise RuntimeError(f"STOW answered {response.status_code}: {response.text[:200]}")


def throughput(client: httpx.Client, batches: Iterator[list[Instance]], budget: Budget) -> dict[str, Any]:
    count = size = 0
    started = time.perf_counter()
    for batch in batches:
        if not budget.left():
            break
        stow(client, batch)
        count += len(batch)
        size += sum(len(i.data) for i in batch)
    elapsed = time.perf_counter() - started
    return {
        "instances": count,
        "megabytes": round(size / 1e6, 2),
        "seconds": round(elapsed, 3),
        "instances_per_s": round(count / elapsed, 1) if elapsed else None,
        "mb_per_s": round(size / 1e6 / elapsed, 2) if elapsed else None,
    }


def latencies(call: Callable[[], httpx.Response], repeat: int, budget: Budget, ok: tuple[int, ...]) -> dict[str, Any]:
    samples = []
    for _ in range(repeat):
        if not budget.left():
            break
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code not in ok:
            raise RuntimeError(f"{response.request.url} answered {response.status_code}: {response.text[:200]}")
    if not samples:
        return {"samples": 0}
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"samples": len(samples), "median_ms": round(statistics.median(samples), 2), "p95_ms": round(p95, 2)}


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing to benchmark {url}: only loopback targets (127.0.0.1, ::1, localhost)")


def preload(
    client: httpx.Client, count: int, per_request: int, per_study: int, budget: Budget, rng: random.Random
) -> tuple[dict[str, Any], list[Study]]:
    """Store ``count`` small instances, generated request by request (bounded memory)."""
    template = make_template(8, 8)
    stored: list[Study] = []
    done = size = 0
    started = time.perf_counter()
    while done < count and budget.left():
        studies = build_studies(template, 1, 1, min(per_study, count - done), rng)
        study = studies[0]
        stored.append(Study(study.uid, study.patient_id, study.surname))
        for start in range(0, len(study.instances), per_request):
            batch = study.instances[start : start + per_request]
            stow(client, batch)
            done += len(batch)
            size += sum(len(i.data) for i in batch)
    elapsed = time.perf_counter() - started
    figures = {
        "instances": done,
        "requested": count,
        "seconds": round(elapsed, 1),
        "instances_per_s": round(done / elapsed, 1) if elapsed else None,
        "mb_per_s": round(size / 1e6 / elapsed, 2) if elapsed else None,
        "complete": done >= count,
    }
    return figures, stored


def cleanup(client: httpx.Client, studies: list[Study], method: str) -> int:
    removed = 0
    for study in studies:
        if method == "dicomweb":
            removed += client.delete(f"studies/{study.uid}").status_code in (200, 202, 204)
        elif method == "orthanc-rest":
            root = str(client.base_url).rstrip("/").removesuffix("/dicom-web")
            found = client.post(f"{root}/tools/lookup", content=study.uid.encode()).json()
            for match in found:
                if match.get("Type") == "Study":
                    removed += client.delete(f"{root}{match['Path']}").status_code == 200
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="loopback DICOMweb base URL, e.g. http://127.0.0.1:8080/v2")
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--series", type=int, default=2)
    parser.add_argument("--instances", type=int, default=10, help="instances per series")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--columns", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=50, help="requests per latency figure")
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--cleanup", choices=["dicomweb", "orthanc-rest", "none"], default="dicomweb")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preload", type=int, default=0, help=f"instances stored first (at most {MAX_PRELOAD})")
    parser.add_argument("--preload-per-request", type=int, default=500)
    parser.add_argument("--preload-per-study", type=int, default=100)
    parser.add_argument("--preload-max-seconds", type=float, default=1800)
    args = parser.parse_args(argv)
    require_loopback(args.url)
    if not 0 <= args.preload <= MAX_PRELOAD:
        parser.error(f"--preload must be within 0..{MAX_PRELOAD}")
    if args.preload_per_request < 1 or args.preload_per_study < 1:
        parser.error("--preload-per-request and --preload-per-study must be positive")
    budget = Budget(args.max_seconds)
    rng = random.Random(args.seed)
    template = make_template(args.rows, args.columns)
    half = max(1, args.studies // 2)
    by_study = build_studies(template, half, args.series, args.instances, rng)
    by_instance = build_studies(template, max(1, args.studies - half), args.series, args.instances, rng)
    studies = by_study + by_instance
    result: dict[str, Any] = {
        "target": args.url,
        "data": {
            "studies": len(studies),
            "series_per_study": args.series,
            "instances_per_series": args.instances,
            "rows": args.rows,
            "columns": args.columns,
            "instance_bytes": len(template.data),
            "instances": sum(len(s.instances) for s in studies),
        },
    }
    base = args.url.rstrip("/") + "/"
    preloaded: list[Study] = []
    with httpx.Client(base_url=base, timeout=args.timeout) as client:
        try:
            if args.preload:
                load_rng = random.Random(args.seed + 1)
                result["preload"], preloaded = preload(
                    client,
                    args.preload,
                    args.preload_per_request,
                    args.preload_per_study,
                    Budget(args.preload_max_seconds),
                    load_rng,
                )
                budget = Budget(args.max_seconds)  # the measurements have their own budget
            result["stow_study_per_request"] = throughput(client, (s.instances for s in by_study), budget)
            result["stow_instance_per_request"] = throughput(
                client, ([i] for s in by_instance for i in s.instances), budget
            )
            json_accept = {"Accept": "application/dicom+json"}
            instance = studies[rng.randrange(len(studies))].instances[0]
            ok = (200, 204)
            result["qido"] = {
                "studies_by_patient_id": latencies(
                    lambda: client.get(
                        "studies", params={"PatientID": rng.choice(studies).patient_id}, headers=json_accept
                    ),
                    args.repeat,
                    budget,
                    ok,
                ),
                "studies_by_name_prefix_fuzzy": latencies(
                    lambda: client.get(
                        "studies",
                        params={"PatientName": rng.choice(SURNAMES)[:3].lower(), "fuzzymatching": "true"},
                        headers=json_accept,
                    ),
                    args.repeat,
                    budget,
                    ok,
                ),
                "series_by_modality": latencies(
                    lambda: client.get("series", params={"Modality": rng.choice(MODALITIES)}, headers=json_accept),
                    args.repeat,
                    budget,
                    ok,
                ),
                "instances_by_uid": latencies(
                    lambda: client.get(
                        "instances",
                        params={"SOPInstanceUID": rng.choice(rng.choice(studies).instances).sop},
                        headers=json_accept,
                    ),
                    args.repeat,
                    budget,
                    ok,
                ),
            }
            retrieved = 0
            started = time.perf_counter()
            for study in studies[: min(len(studies), 10)]:
                if not budget.left():
                    break
                response = client.get(
                    f"studies/{study.uid}",
                    headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
                )
                if response.status_code != 200:
                    raise RuntimeError(f"retrieve answered {response.status_code}")
                retrieved += len(response.content)
            elapsed = time.perf_counter() - started
            result["retrieve_study"] = {
                "megabytes": round(retrieved / 1e6, 2),
                "seconds": round(elapsed, 3),
                "mb_per_s": round(retrieved / 1e6 / elapsed, 2) if elapsed else None,
            }
            path = f"studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"
            result["metadata"] = latencies(
                lambda: client.get(f"{path}/metadata", headers=json_accept), args.repeat, budget, (200,)
            )
            result["frame"] = latencies(
                lambda: client.get(
                    f"{path}/frames/1",
                    headers={"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'},
                ),
                args.repeat,
                budget,
                (200,),
            )
        finally:
            removed = cleanup(client, studies + preloaded, args.cleanup)
            result["cleanup"] = {"method": args.cleanup, "studies_removed": removed}
    result["budget_exhausted"] = not budget.left()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
