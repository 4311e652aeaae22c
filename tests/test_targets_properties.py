"""Target URLs: parsing never raises anything but dataward's own error, and redaction never leaks a password."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.errors import DatawardError
from dataward.targets import parse_target, redact_url

PASSWORD = "CanaryPw4"


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://u:CanaryPw4@db:5432/app", "postgresql://u:***@db:5432/app"),
        ("postgresql://u:CanaryPw4#x@db:5432/app", "postgresql://u:***@db:5432/app"),
        ("postgresql://u:Canary?Pw4@db:5432/app", "postgresql://u:***@db:5432/app"),
        ("postgresql://u:CanaryPw4@[::1", "postgresql://…"),
        ("s3://b?X-Amz-Signature=CanaryPw4&region=eu-west-1", "s3://b?X-Amz-Signature=***&region=eu-west-1"),
        ("http://es:9200/?auth=CanaryPw4&kind=elasticsearch", "http://es:9200/?auth=***&kind=elasticsearch"),
        ("mysql://db/app?pwd=CanaryPw4&passwd=CanaryPw4&sas=CanaryPw4&sig=CanaryPw4&credentials=CanaryPw4",
         "mysql://db/app?pwd=***&passwd=***&sas=***&sig=***&credentials=***"),
        ("redis://127.0.0.1:16379/0", "redis://127.0.0.1:16379/0"),
    ],
)
def test_redact_url_hides_passwords_and_every_query_value_but_harmless_ones(url: str, shown: str) -> None:
    assert redact_url(url) == shown


_TAIL = st.text(alphabet="ab:/@#?[]%.=&0123456789", max_size=30)


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["postgresql", "redis", "s3", "mysql", "http", ""]), rest=_TAIL)
def test_parse_target_raises_only_dataward_errors(scheme: str, rest: str) -> None:
    with contextlib.suppress(DatawardError):
        parse_target(f"{scheme}://{rest}" if scheme else rest)


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["postgresql", "redis", "mysql", "http"]), tail=_TAIL)
def test_a_password_never_reaches_an_error_or_a_redacted_url(scheme: str, tail: str) -> None:
    url = f"{scheme}://u:{PASSWORD}@{tail}"
    assert PASSWORD not in redact_url(url)
    try:
        parse_target(url)
    except DatawardError as exc:
        assert PASSWORD not in exc.render()
