"""A bounded schemathesis run against the service's OpenAPI document (real server).

Schemathesis' pytest plugin does not work with this pytest (9.x); each operation's strategy
is driven by hypothesis directly instead.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from test_web_support import live_server

EXAMPLES = 10  # per operation: bounded
# Schema-valid values may still be refused on meaning (an element the dataset lacks: 400).
EXCLUDED = [positive_data_acceptance]


def _exercise(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)  # fmt: skip
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=EXCLUDED)

    check()


def test_api_conforms_to_its_schema(tmp_path: Any) -> None:
    failures = []
    with live_server(tmp_path / "results.duckdb") as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:
            try:
                _exercise(operation)
            except (Exception, BaseExceptionGroup) as error:  # report all operations' failures
                failures.append(f"{operation.label}: {str(error)[:1500]}")
    assert not failures, "\n\n".join(failures)
