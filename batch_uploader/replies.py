"""What one reply (or transport error) to a Create Shipment request means.

One function, `classify`, answers the only question the retry loop asks: was it created, is
it already there, should we wait, try again, ask Flxpoint, or give up (this row, or the whole
run), and why. It reads nothing but its arguments (and, to name a proxy, the proxy settings
of the environment), so the tests read it as a table; the loop in sender.py only waits,
asks and repeats.
"""

from __future__ import annotations

import email.utils
import enum
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from batch_uploader.httpclient import certificate_problem, proxy_problem

DEFAULT_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 120.0
UNKNOWN_OUTCOME = "outcome unknown — check Flxpoint before re-sending"
ALREADY_THERE = (
    "Flxpoint already has this tracking number on this PO (uploaded some other way); "
    "not created again"
)
ALREADY_THERE_LOST_REPLY = (
    "Flxpoint already had it: an earlier attempt created it but its reply was lost"
)
ERROR_TEXT_LIMIT = 300


class Next(enum.Enum):
    """What the retry loop does with a reply."""

    CREATED = "created"  # done: the shipment exists now (Shipment ID if the body had one)
    ALREADY_THERE = "already there"  # done: Flxpoint had it (409), recorded as skipped
    WAIT = "wait"  # 429: wait `retry_after_s`, then send again; not an attempt
    RETRY = "retry"  # transient: back off and send again
    # May exist and duplicates are allowed: a 409 cannot prove it, so ask Flxpoint
    # (GET /shipments) before sending again; if it cannot be asked, the outcome is unknown.
    UNKNOWN = "unknown"
    UNAUTHORIZED = "unauthorized"  # 401: stop the whole run (exit 3)
    # The network path cannot work for any row (an untrusted certificate): stop the run at
    # once, nothing further is sent (exit 2); `reason` is the one line for the console.
    FATAL = "fatal"
    FAILED = "failed"  # the API refused this request: report the reason


@dataclass(frozen=True, slots=True)
class Verdict:
    """The meaning of one exchange: what to do next, and the words for the workbook."""

    next: Next
    reason: str = ""
    shipment_id: int | None = None
    retry_after_s: float = 0.0
    # The request may have been processed (its reply was lost): a later 409 proves it exists.
    maybe_processed: bool = False
    # Not this row's failure but the way to the API (a proxy): if the retries run out on it,
    # the whole run stops with `reason` (exit 2) instead of every row failing in turn.
    run_wide: bool = False


def classify(
    response: httpx.Response | None,
    error: Exception | None = None,
    *,
    left: bool = True,
    duplicates_allowed: bool = False,
    maybe_processed: bool = False,
    base_url: str | None = None,
) -> Verdict:
    """Map one exchange to a Verdict.

    `response` is the reply, or None with the transport `error`; `left` says whether the
    request's bytes were written before that error; `maybe_processed` whether an earlier
    attempt of the same request may have created it (the wording of a 409 depends on it);
    `base_url` the API's URL, to name the proxy (if any) that requests to it go through.
    """
    if response is None:
        name = type(error).__name__
        if error is not None and (problem := certificate_problem(error)) is not None:
            return Verdict(Next.FATAL, problem)  # retrying cannot fix it: a CA or URL must change
        if not left:  # never left this machine: safe to send again, whatever the settings
            if error is not None and base_url is not None:
                problem = proxy_problem(error, base_url)
                if problem is not None:
                    return Verdict(Next.RETRY, problem, run_wide=True)
            return Verdict(Next.RETRY, f"could not reach the API ({name})")
        return _maybe_created(f"no reply from the API ({name})", duplicates_allowed)
    status = response.status_code
    if 200 <= status < 300:  # the page documents 201; any success means created
        return Verdict(Next.CREATED, shipment_id=shipment_id(response))
    if status == 408:  # the server gave up before reading the request: not processed
        return Verdict(Next.RETRY, "HTTP 408: the API timed out waiting for the request")
    if status == 429:
        return Verdict(Next.WAIT, "rate limited (429)", retry_after_s=retry_after(response))
    if status == 401:
        return Verdict(Next.UNAUTHORIZED, "HTTP 401: the API refused the token")
    if status == 409 and not duplicates_allowed:
        note = ALREADY_THERE_LOST_REPLY if maybe_processed else ALREADY_THERE
        return Verdict(Next.ALREADY_THERE, note, shipment_id=shipment_id(response))
    if status >= 500:
        return _maybe_created(
            f"HTTP {status} from the API: {api_message(response)}", duplicates_allowed
        )
    return Verdict(Next.FAILED, f"HTTP {status}: {api_message(response)}")


def _maybe_created(reason: str, duplicates_allowed: bool) -> Verdict:
    """A lost reply: re-sending is safe only while the API refuses duplicates (then 409);
    with duplicates allowed Flxpoint must be asked first (the reason stays the cause)."""
    if duplicates_allowed:
        return Verdict(Next.UNKNOWN, reason, maybe_processed=True)
    return Verdict(Next.RETRY, reason, maybe_processed=True)


def retry_after(response: httpx.Response) -> float:
    """Retry-After in seconds (number or HTTP date), bounded to something sane."""
    value = response.headers.get("Retry-After", "").strip()
    seconds = DEFAULT_RETRY_AFTER_S
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def shipment_id(response: httpx.Response) -> int | None:
    """The Shipment ID from a 201 body (`id`) or a 409 body that names the existing one."""
    data = _json(response)
    if isinstance(data, dict):
        for name in ("id", "shipmentId"):
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def api_message(response: httpx.Response) -> str:
    """The API's own words, trimmed; falls back to the reason phrase."""
    data = _json(response)
    message = ""
    if isinstance(data, dict):
        for name in ("message", "error", "detail", "errors"):
            if data.get(name):
                message = str(data[name])
                break
    elif isinstance(data, str):
        message = data
    if not message:
        message = response.text.strip() or response.reason_phrase
    return message[:ERROR_TEXT_LIMIT]
