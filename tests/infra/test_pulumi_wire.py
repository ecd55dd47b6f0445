"""The harness reads Pulumi's secret envelope through private SDK names; these fail first if they move."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from tests.infra import pulumi_wire
from tests.infra.harness import PROJECT, RecordingMocks

WHERE = "update tests/infra/pulumi_wire.py to the SDK's secret envelope"


def test_the_sdk_still_defines_the_secret_envelope_the_harness_reads():
    assert pulumi_wire.SIG_KEY is not None and pulumi_wire.SECRET_SIG is not None, (
        f"pulumi.runtime.rpc no longer has _special_sig_key and _special_secret_sig: {WHERE}"
    )


def test_a_secret_input_is_recorded_as_its_plain_value():
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="wire", preview=False)

    @pulumi.runtime.test
    def declare() -> pulumi.Output[Any]:
        probe = k8s.core.v1.ConfigMap("probe", data={"key": pulumi.Output.secret("plain")})
        return probe.urn

    declare()
    (probe,) = mocks.declared
    assert probe.inputs["data"] == {"key": "plain"}, f"the mocks' secret envelope changed: {WHERE}"
