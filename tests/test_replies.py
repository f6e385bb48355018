"""replies.classify as a table: one exchange in, what the retry loop does next out."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx
import pytest

from batch_uploader.replies import (
    ALREADY_THERE,
    ALREADY_THERE_LOST_REPLY,
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    Next,
    Verdict,
    classify,
    retry_after,
)

API = "https://api.flxpoint.test"
PROXY = "http://proxy.corp.test:3128"


def _reply(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def _certificate_error() -> httpx.ConnectError:
    """A ConnectError caused by a failed verification, as httpx raises it."""
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    cause.verify_code = 20
    cause.verify_message = "unable to get local issuer certificate"
    cause.reason = "CERTIFICATE_VERIFY_FAILED"
    error = httpx.ConnectError("certificate verify failed")
    error.__cause__ = cause
    return error


@dataclass(frozen=True)
class Case:
    """One row of the table: the exchange, then the verdict expected."""

    response: httpx.Response | None
    error: Exception | None = None
    left: bool = True
    duplicates_allowed: bool = False
    maybe_processed: bool = False
    base_url: str | None = None
    # expected
    next: Next = Next.CREATED
    reason: str | None = None  # None: not checked; else a substring of Verdict.reason
    retry_after_s: float = 0.0
    shipment_id: int | None = None
    maybe: bool = False  # Verdict.maybe_processed
    run_wide: bool = False


CASES = {
    "201 with id": Case(_reply(201, {"id": 5}), shipment_id=5),
    "200 counts as created": Case(_reply(200, {"id": 6}), shipment_id=6),
    "201 without a body": Case(_reply(201)),
    "408 is retried": Case(_reply(408), next=Next.RETRY, reason="HTTP 408"),
    "429 default wait": Case(_reply(429), next=Next.WAIT, retry_after_s=DEFAULT_RETRY_AFTER_S),
    "429 Retry-After 3": Case(
        _reply(429, headers={"Retry-After": "3"}), next=Next.WAIT, retry_after_s=3.0
    ),
    "429 Retry-After capped": Case(
        _reply(429, headers={"Retry-After": "9999"}),
        next=Next.WAIT,
        retry_after_s=MAX_RETRY_AFTER_S,
    ),
    "401 stops the run": Case(_reply(401), next=Next.UNAUTHORIZED, reason="401"),
    "409 uploaded some other way": Case(
        _reply(409, {"message": "exists", "shipmentId": 79}),
        next=Next.ALREADY_THERE,
        reason=ALREADY_THERE,
        shipment_id=79,
    ),
    "409 after a lost reply": Case(
        _reply(409, {"id": 80}),
        maybe_processed=True,
        next=Next.ALREADY_THERE,
        reason=ALREADY_THERE_LOST_REPLY,
        shipment_id=80,
    ),
    "409 with duplicates allowed is a refusal": Case(
        _reply(409, {"message": "nope"}),
        duplicates_allowed=True,
        next=Next.FAILED,
        reason="HTTP 409: nope",
    ),
    "400 with the API's words": Case(
        _reply(400, {"message": "sku not on PO"}),
        next=Next.FAILED,
        reason="HTTP 400: sku not on PO",
    ),
    "500 may have created it": Case(
        _reply(500, {"message": "boom"}),
        next=Next.RETRY,
        reason="HTTP 500 from the API: boom",
        maybe=True,
    ),
    "500 with duplicates allowed: ask Flxpoint": Case(
        _reply(503),
        duplicates_allowed=True,
        next=Next.UNKNOWN,
        reason="HTTP 503 from the API",
        maybe=True,
    ),
    "lost reply after sending": Case(
        None,
        httpx.ReadTimeout("timed out"),
        next=Next.RETRY,
        reason="no reply from the API (ReadTimeout)",
        maybe=True,
    ),
    "dropped connection, duplicates allowed: ask Flxpoint": Case(
        None,
        httpx.RemoteProtocolError("closed"),
        duplicates_allowed=True,
        next=Next.UNKNOWN,
        reason="no reply from the API (RemoteProtocolError)",
        maybe=True,
    ),
    "never left: safe to send again": Case(
        None,
        httpx.ConnectError("refused"),
        left=False,
        duplicates_allowed=True,
        next=Next.RETRY,
        reason="could not reach the API (ConnectError)",
    ),
    "untrusted certificate stops the run": Case(
        None,
        _certificate_error(),
        left=False,
        next=Next.FATAL,
        reason="TLS certificate is not trusted (unable to get local issuer certificate)",
    ),
    "proxy refused: retried, then the run stops": Case(
        None,
        httpx.ProxyError("407 Proxy Authentication Required"),
        left=False,
        base_url=API,
        next=Next.RETRY,
        reason=f"the proxy {PROXY} refused the connection",
        run_wide=True,
    ),
    "proxy unreachable: retried, then the run stops": Case(
        None,
        httpx.ConnectError("refused"),
        left=False,
        base_url=API,
        next=Next.RETRY,
        reason=f"through the proxy {PROXY} (ConnectError)",
        run_wide=True,
    ),
    "plain http never goes through the proxy": Case(
        None,
        httpx.ConnectError("refused"),
        left=False,
        base_url="http://127.0.0.1:8765",
        next=Next.RETRY,
        reason="could not reach the API (ConnectError)",
    ),
}


@pytest.fixture(autouse=True)
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS goes through PROXY (only rows with a base_url ask which proxy is used)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", PROXY)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_classify(case: Case) -> None:
    """What each reply, transport error or refusal means for the retry loop."""
    verdict = classify(
        case.response,
        case.error,
        left=case.left,
        duplicates_allowed=case.duplicates_allowed,
        maybe_processed=case.maybe_processed,
        base_url=case.base_url,
    )
    assert verdict.next is case.next
    if case.reason is not None:
        assert case.reason in verdict.reason
    assert verdict.retry_after_s == case.retry_after_s
    assert verdict.shipment_id == case.shipment_id
    assert verdict.maybe_processed is case.maybe
    assert verdict.run_wide is case.run_wide


def test_fatal_reason_is_one_line_naming_the_fix() -> None:
    """The certificate verdict is the console's one line: it names --ca-bundle."""
    verdict = classify(None, _certificate_error(), left=False)
    assert verdict == Verdict(Next.FATAL, verdict.reason)
    assert "--ca-bundle FILE" in verdict.reason
    assert "\n" not in verdict.reason


def test_retry_after_http_date_in_the_past_is_no_wait() -> None:
    """Retry-After as an HTTP date already past means: send again now."""
    reply = _reply(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(reply) == 0.0
