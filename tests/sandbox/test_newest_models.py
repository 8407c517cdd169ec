"""Members that only newer botocore models have: the sandbox refuses what it cannot honour.

Run by the main suite with the project's botocore (skipped where the member is not in the
installed model) and by ``.ci/botocore-matrix`` against the newest release of the window.
"""

from __future__ import annotations

import pytest
from sms_support import Sandbox, error_of

from reconciler.sandbox.protocols import service_model

SMS = "pinpoint-sms-voice-v2"

requires_number_preference = pytest.mark.skipif(
    "NumberPreference" not in service_model(SMS).operation_model("RequestPhoneNumber").input_shape.members,
    reason="this botocore's model has no RequestPhoneNumber NumberPreference (added in 1.44)",
)

PREFERENCE = [{"PreferenceType": ["StartsWith"], "Filter": ["206"]}]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _refused_preference(sandbox: Sandbox, number_type: str) -> dict:
    """The error of a RequestPhoneNumber with a NumberPreference (it must be refused, not ignored)."""
    client = sandbox.client()
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.request_phone_number(
            IsoCountryCode="US",
            MessageType="TRANSACTIONAL",
            NumberCapabilities=["SMS"],
            NumberType=number_type,
            NumberPreference=PREFERENCE,
        )
    return error_of(excinfo)


@requires_number_preference
def test_a_number_preference_outside_us_ten_dlc_is_invalid(sandbox: Sandbox) -> None:
    error = _refused_preference(sandbox, "TOLL_FREE")
    assert error["Reason"] == "INVALID_PARAMETER"
    assert error["Fields"][0]["Name"] == "NumberPreference"
    assert not sandbox.state().phone_numbers


@requires_number_preference
def test_a_us_ten_dlc_number_preference_is_refused_not_ignored(sandbox: Sandbox) -> None:
    error = _refused_preference(sandbox, "TEN_DLC")
    assert error["Reason"] == "UNSPECIFIED_PARAMETER_NOT_SUPPORTED"
    assert not sandbox.state().phone_numbers
