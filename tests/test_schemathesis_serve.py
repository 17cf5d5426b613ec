"""Property-based API test: schemathesis generates requests from the server's own OpenAPI schema
and sends them to a real uvicorn server on 127.0.0.1. No request may get a 5xx, and responses
must match the schema (status codes, content types, bodies, Allow on 405)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from serve_fakes import live_server

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
# positive_data_acceptance is left out: the schema can say "a binary body" but not "a decodable
# image", so random bytes are schema-valid and rightly refused with a 4xx.
ARGS = [
    "--checks",
    "all",
    "--exclude-checks",
    "positive_data_acceptance",
    "--max-examples",
    "30",
    "--seed",
    "1",
    "--request-timeout",
    "20",
]


def run_schemathesis(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCHEMATHESIS, "run", f"{url}/openapi.json", *ARGS],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_no_server_errors_and_responses_match_the_schema():
    with live_server(env={"SEGSIM_FAKE_SIZE": "32x24"}) as url:
        result = run_schemathesis(url)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "No issues found" in out
    assert "POST /v1/predict" in out or "3/3" in out  # every operation was exercised


def test_a_server_error_would_be_caught():
    """The same run against a model that crashes must fail, or the test above proves nothing."""
    with live_server(env={"SEGSIM_FAKE_BROKEN": "1", "SEGSIM_FAKE_SIZE": "32x24"}) as url:
        result = run_schemathesis(url)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "500" in out or "Server error" in out
