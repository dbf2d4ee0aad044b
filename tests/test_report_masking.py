"""Patient fields are masked in every piece of evidence; the structure that proves a failure stays."""

from __future__ import annotations

import json

from conformance.reporting.masking import MASK, mask_evidence, mask_patient_fields


def test_dicom_json_patient_attributes_are_masked_whatever_their_value() -> None:
    body = json.dumps(
        {
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
            "00100020": {"vr": "LO", "Value": ["PID-1"]},
            "00100030": {"vr": "DA", "Value": ["19700101"]},
            "00101002": {"vr": "SQ", "Value": [{"00100020": {"vr": "LO", "Value": ["OTHER-7"]}}]},
            "00100040": {"vr": "CS"},
            "0020000D": {"vr": "UI", "Value": ["2.25.1"]},
        }
    )
    masked = json.loads(mask_patient_fields(body))
    assert masked["00100010"] == {"vr": "PN", "Value": [MASK]}
    assert masked["00100020"] == {"vr": "LO", "Value": [MASK]}
    assert masked["00100030"] == {"vr": "DA", "Value": [MASK]}
    assert masked["00101002"] == {"vr": "SQ", "Value": [MASK]}
    assert masked["00100040"] == {"vr": "CS"}  # empty: nothing to hide, and its presence is evidence
    assert masked["0020000D"] == {"vr": "UI", "Value": ["2.25.1"]}


def test_pretty_printed_and_cut_bodies() -> None:
    pretty = '{\n\t"00100020" : \n\t{\n\t\t"Value" : [ "PID-1" ],\n\t\t"vr" : "LO"\n\t}\n}'
    assert "PID-1" not in mask_patient_fields(pretty)
    cut = '{"0020000D":{"vr":"UI","Value":["2.25.1"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"Do'
    masked = mask_patient_fields(cut)
    assert "Do" not in masked.split("00100010")[1]
    assert masked.startswith('{"0020000D":{"vr":"UI","Value":["2.25.1"]}')


def test_query_parameters_in_urls_and_curl_lines() -> None:
    line = (
        "curl -X GET 'http://h/v2/studies?PatientName=Doe%5EJane*&00100020=PID-1&limit=5"
        "&00101002.00100020=X&patientbirthdate=1970' -H 'Accept: application/dicom+json'"
    )
    masked = mask_patient_fields(line)
    for value in ("Doe%5EJane", "PID-1", "=X&", "1970"):
        assert value not in masked
    assert "limit=5" in masked
    assert "PatientName=***&00100020=***" in masked
    assert masked.endswith("-H 'Accept: application/dicom+json'")


def test_person_name_groups_in_messages_keep_their_shape() -> None:
    text = "received [{'Alphabetic': 'Yamada^Tarou', 'Ideographic': '', 'Phonetic': 'やまだ^たろう'}]"
    assert mask_patient_fields(text) == "received [{'Alphabetic': '***', 'Ideographic': '', 'Phonetic': '***'}]"


def test_evidence_trees_are_scrubbed_and_masked() -> None:
    evidence = {
        "message": "token abc123 leaked",
        "exchange": {"request": {"url": "http://h/studies?PatientID=9"}, "response": {"status": 200}},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe"}]},
        "list": ["PatientName=Doe", 3, None],
    }
    masked = mask_evidence(evidence, lambda s: s.replace("abc123", "***"))
    assert masked == {
        "message": "token *** leaked",
        "exchange": {"request": {"url": "http://h/studies?PatientID=***"}, "response": {"status": 200}},
        "00100010": {"vr": "PN", "Value": [MASK]},
        "list": ["PatientName=Doe", 3, None],  # not a query string: no '?' or '&' before it
    }
