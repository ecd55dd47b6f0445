import json

import pytest

from modelops.payloads.events import EventError, parse_event
from tests.payloads.agent import REQUEST, RESPONSE, headers, v2_request

BODY = json.dumps(v2_request({"age": [31]})).encode()


def test_an_event_as_the_kserve_agent_sends_it_is_a_request_with_its_id_service_and_body():
    event = parse_event(headers(REQUEST, "a1b2", service="credit-risk-candidate").items(), BODY)
    assert (event.kind, event.id, event.inference_service) == ("request", "a1b2", "credit-risk-candidate")
    assert event.body["inputs"][0]["name"] == "age"
    assert parse_event(headers(RESPONSE, "a1b2").items(), b'{"outputs": []}').kind == "response"


def test_a_redelivery_has_the_same_digest_and_another_body_another():
    first = parse_event(headers(REQUEST, "a").items(), BODY)
    assert parse_event(headers(REQUEST, "a").items(), BODY).digest == first.digest
    assert parse_event(headers(REQUEST, "a").items(), BODY + b" ").digest != first.digest


def test_attributes_the_sink_does_not_read_are_not_parsed_and_cannot_refuse_an_event():
    sent = {**headers(REQUEST, "a"), "Ce-Time": "yesterday", "Ce-Metadata": "{not json", "Ce-Odd-Name": "x"}
    assert parse_event(sent.items(), BODY).id == "a"


def test_the_body_is_read_as_json_whatever_content_type_the_caller_gave_the_model():
    sent = {**headers(REQUEST, "a"), "Content-Type": "text/plain"}
    assert parse_event(sent.items(), BODY).body["inputs"][0]["data"] == [31]


@pytest.mark.parametrize(
    ("change", "body", "message"),
    [
        ({"Ce-Specversion": None}, BODY, "no ce-specversion header"),
        ({"Ce-Specversion": "0.3"}, BODY, "is not 1.0"),
        ({"Ce-Id": None}, BODY, "ce-id is missing"),
        ({"Ce-Source": ""}, BODY, "ce-source is missing or empty"),
        ({"Ce-Type": "org.kubeflow.serving.inference.explain"}, BODY, "not an inference request"),
        ({"Ce-Inferenceservicename": "../other"}, BODY, "not a Kubernetes name"),
        ({"Ce-Inferenceservicename": None}, BODY, "ce-inferenceservicename is missing"),
        ({"Ce-Id": "x" * 257}, BODY, "printable id of 1 to 256"),
        ({"Ce-Id": "a%0Ab"}, BODY, "printable id"),  # percent-decoded by the SDK: a newline
        ({}, b"{not json", "the body is not JSON"),
        ({}, b"[1, 2]", "not a JSON object"),
        ({}, b"\xff\xfe", "the body is not JSON"),
    ],
)
def test_what_is_not_a_kserve_logger_event_is_refused_in_one_line(change, body, message):
    sent = headers(REQUEST, "a")
    for name, value in change.items():
        if value is None:
            sent.pop(name)
        else:
            sent[name] = value
    with pytest.raises(EventError, match=message) as refused:
        parse_event(sent.items(), body)
    assert "\n" not in str(refused.value)
