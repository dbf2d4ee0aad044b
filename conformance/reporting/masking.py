"""Masking of patient fields in evidence (request URLs, curl lines, response bodies).

Every report (results.json, JUnit, Allure attachments, HTML, Markdown) is built from evidence
that went through ``mask_patient_fields``: values of the Patient module's identifying
attributes are replaced with ``***`` wherever they appear as DICOM JSON (``"00100010": {...}``)
or as a query parameter (``PatientName=...``, ``00100010=...``), and so is every non-empty person
name component group (``"Alphabetic": "..."``), whichever attribute or message holds it. The suite only ever sends
synthetic patients, but a real endpoint answers searches with whatever it holds, so answers
are masked as well. Secrets are removed separately (``Settings.scrub``, and credential headers
are masked when an exchange is recorded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MASK = "***"

# Identifying attributes of the Patient module (PS3.3 C.7.1.1) and the admission ID.
PATIENT_ATTRIBUTES: dict[str, str] = {
    "00100010": "PatientName",
    "00100020": "PatientID",
    "00100021": "IssuerOfPatientID",
    "00100030": "PatientBirthDate",
    "00100032": "PatientBirthTime",
    "00100040": "PatientSex",
    "00101000": "OtherPatientIDs",
    "00101001": "OtherPatientNames",
    "00101002": "OtherPatientIDsSequence",
    "00101005": "PatientBirthName",
    "00101010": "PatientAge",
    "00101040": "PatientAddress",
    "00101060": "PatientMotherBirthName",
    "00102154": "PatientTelephoneNumbers",
    "00380010": "AdmissionID",
}

_TAGS = "|".join(PATIENT_ATTRIBUTES)
_NAMES = "|".join([*PATIENT_ATTRIBUTES, *PATIENT_ATTRIBUTES.values()])
_JSON_KEY = re.compile(rf'"({_TAGS})"\s*:\s*')
# A query parameter in a URL or curl line: ``?PatientName=Doe*`` or ``&00100020=123``; a nested
# path such as ``00101002.00100020`` ends with a patient attribute as well.
_QUERY = re.compile(rf"([?&](?:[0-9A-Za-z]+\.)*(?:{_NAMES})=)([^&#\s'\"]*)", re.IGNORECASE)
# Person name component groups, as DICOM JSON ("Alphabetic": "Doe^John") or as a Python repr in
# a check's Expected / Received text ('Alphabetic': 'Doe^John'); empty groups stay visible.
_PN_GROUP = re.compile(r"""(["'](?:Alphabetic|Ideographic|Phonetic)["']\s*:\s*)(["'])((?:\\.|(?!\2).)+)\2""")
_DECODER = json.JSONDecoder()


def mask_patient_fields(text: str) -> str:
    """``text`` with every patient attribute value replaced by ``***``."""
    text = _QUERY.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), text)
    text = _PN_GROUP.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    if '"00' not in text:
        return text
    out: list[str] = []
    position = 0
    while True:
        match = _JSON_KEY.search(text, position)
        if match is None:
            out.append(text[position:])
            return "".join(out)
        out.append(text[position : match.end()])
        try:
            value, end = _DECODER.raw_decode(text, match.end())
        except ValueError:
            # A body cut short inside the attribute: nothing after the key can be shown safely.
            out.append(f'"{MASK}" ...')
            return "".join(out)
        out.append(json.dumps(_masked_attribute(value), ensure_ascii=False))
        position = end


def _masked_attribute(value: Any) -> Any:
    if isinstance(value, dict):
        masked = {k: v for k, v in value.items() if k not in ("Value", "InlineBinary", "BulkDataURI")}
        if any(k in value for k in ("Value", "InlineBinary", "BulkDataURI")):
            masked["Value"] = [MASK]
        return masked
    return MASK


def mask_evidence(value: Any, scrub: Callable[[str], str] = lambda s: s) -> Any:
    """A copy of a JSON-ready evidence tree with secrets scrubbed and patient fields masked in
    every string; keys that are patient attribute tags get their values masked too."""
    if isinstance(value, str):
        return mask_patient_fields(scrub(value))
    if isinstance(value, list):
        return [mask_evidence(v, scrub) for v in value]
    if isinstance(value, dict):
        return {
            k: _masked_attribute(v) if k in PATIENT_ATTRIBUTES else mask_evidence(v, scrub) for k, v in value.items()
        }
    return value
