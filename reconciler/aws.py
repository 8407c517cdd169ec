"""The one place that talks to AWS: sessions, clients, retries, rate limits and call logging.

Areas never create boto3 clients themselves; they go through :class:`Api`:

    api.call("pinpoint-sms-voice-v2", "DescribeProtectConfigurations", ProtectConfigurationIds=[...])
    for page in api.pages("pinpoint-sms-voice-v2", "DescribeOptedOutNumbers", OptOutListName="x"):
        ...

so that rate limiting per operation, retries, logging (without credentials or personal data)
and the IAM declarations all live in one place.

Rate limits
-----------
Each (service, operation) has a token bucket refilled at the rate the areas declare in
``ApiOperation.rate_per_second`` (AWS's default quotas: 1/s for almost every control-plane call,
10/s for Put/DeleteOptedOutNumber). Undeclared pinpoint-sms-voice-v2 and RAM operations get
1/s; STS is not limited. ``rate_scale`` multiplies every rate (a sandbox running its quotas
``scale`` times faster); ``rate_scale=0`` disables client-side limiting. The limiter adapts:
a throttled answer lowers that operation's rate, successes bring it back (see RateLimiter).

Retry budget
------------
Throttling errors, HTTP 5xx and connection errors are retried with exponential backoff and
full jitter: attempt *n* (1-based) sleeps ``uniform(0, min(cap, base * 2**(n-1)))`` with
``base=0.5 s``, ``cap=20 s``, at most ``max_attempts=8`` attempts per call (about 80 s
worst case), and at most ``run_budget=200`` retries per :class:`Api` instance so a sick
endpoint fails the run instead of stretching it for hours. Every other error is raised at once.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, TypeVar

import boto3
import structlog
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from reconciler import interrupt, lanes
from reconciler.report.mask import mask_text

log = structlog.get_logger("reconciler.aws")

SMS_VOICE = "pinpoint-sms-voice-v2"
RAM = "ram"
STS = "sts"

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
DEFAULT_RATE = 1.0
READ_PREFIXES = ("Describe", "List", "Get")  # operations that change nothing


def keeps_listings(service: str, operation: str) -> bool:
    """Writes that cannot change what the cached sms-voice listings (phone numbers, pools, sender
    IDs, opt-out lists) return: opted-out entries, tags (not part of any listing), protect
    configurations and their rules, RAM (which forgets RAM's own listing of shares). Any other
    write forgets every cached listing."""
    return (
        service == RAM
        or operation in {"PutOptedOutNumber", "DeleteOptedOutNumber", "TagResource", "UntagResource"}
        or "ProtectConfiguration" in operation
    )
T = TypeVar("T")


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def error_reason(error: BaseException) -> str:
    """pinpoint-sms-voice-v2's ``Reason`` field (e.g. DELETION_PROTECTION_ENABLED), if any."""
    if isinstance(error, ClientError):
        return str(error.response.get("Reason", "") or error.response.get("Error", {}).get("Reason", ""))
    return ""


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, CONNECTION_ERRORS):
        return True
    if isinstance(error, ClientError):
        if error_code(error) in THROTTLING_CODES:
            return True
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return status >= 500
    return False


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base: float = 0.5
    cap: float = 20.0
    run_budget: int = 200

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter for the ``attempt``-th retry (1-based)."""
        return rng.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))


class RateLimiter:
    """Token buckets (capacity one) per operation: calls of one operation are spaced ``1/rate`` apart.

    Adaptive: the declared rates are AWS's *default* quotas, and an account may have lower ones (or
    share them with other tools). Each throttled answer multiplies that operation's rate by
    ``DECREASE`` (down to ``MIN_FACTOR`` of it); every ``RECOVER_AFTER`` successes in a row raise it by ``RECOVERY``
    (a factor) back towards the declared rate. A run thus settles just under the quota it
    actually gets, with one throttled call every few dozen instead of most of them (which would
    spend the retry budget), and returns to full speed within about 120 calls once the pressure
    is gone."""

    DECREASE = 0.7
    MIN_FACTOR = 1 / 16
    RECOVERY = 1.25
    RECOVER_AFTER = 10

    def __init__(
        self,
        rates: Mapping[tuple[str, str], float],
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = interrupt.sleep,
        share: float = 1.0,
    ) -> None:
        self.rates = dict(rates)
        self.scale = scale
        # The quota budget: the share of each operation's quota this run may use (``--quota-share``),
        # leaving the rest to the account's own applications; operations in ``_whole`` (an
        # emergency's block phase) use the whole quota for a while.
        self.share = share
        self._whole: set[tuple[str, str]] = set()
        self.clock = clock
        self.sleep = sleep
        self._next: dict[tuple[str, str], float] = {}
        self._factor: dict[tuple[str, str], float] = {}
        self._streak: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting, for progress reports and tests

    def rate(self, service: str, operation: str) -> float | None:
        if self.scale <= 0 or service == STS:
            return None
        factor = self._factor.get((service, operation), 1.0)
        share = 1.0 if (service, operation) in self._whole else self.share
        return self.rates.get((service, operation), DEFAULT_RATE) * self.scale * factor * share

    def use_whole_quota(self, operations: Iterable[tuple[str, str]], whole: bool = True) -> None:
        """Let ``operations`` use their whole quota (``whole=False``: back to the share)."""
        with self._lock:
            if whole:
                self._whole.update(operations)
            else:
                self._whole.difference_update(operations)

    def throttled(self, service: str, operation: str) -> None:
        """AWS throttled a call: slow this operation down (multiplicative decrease)."""
        key = (service, operation)
        with self._lock:
            self._factor[key] = max(self.MIN_FACTOR, self._factor.get(key, 1.0) * self.DECREASE)
            self._streak[key] = 0
        log.info("rate.reduced", service=service, operation=operation, rate=self.rate(service, operation))

    def succeeded(self, service: str, operation: str) -> None:
        """A call went through: creep back towards the declared rate (additive increase)."""
        key = (service, operation)
        if key in self._factor:
            with self._lock:
                streak = self._streak.get(key, 0) + 1
                if streak < self.RECOVER_AFTER:
                    self._streak[key] = streak
                    return
                self._streak[key] = 0
                factor = self._factor.get(key, 1.0) * self.RECOVERY
                if factor >= 1.0:
                    self._factor.pop(key, None)
                else:
                    self._factor[key] = factor

    def acquire(self, service: str, operation: str) -> None:
        rate = self.rate(service, operation)
        if rate is None:
            return
        key = (service, operation)
        with self._lock:
            now = self.clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + 1.0 / rate
        wait = slot - now
        if wait > 0:
            self.waited += wait
            self.sleep(wait)


def declared_rates() -> dict[tuple[str, str], float]:
    """The per-operation rates the areas declare (the lowest wins when two disagree)."""
    from reconciler.areas.base import declarations

    rates: dict[tuple[str, str], float] = {}
    for op in declarations():
        key = (op.service, op.name)
        rates[key] = min(rates.get(key, op.rate_per_second), op.rate_per_second)
    return rates


@cache
def declared_operations() -> frozenset[tuple[str, str]]:
    """Every (service, operation) the engine may call: the areas' declarations plus the STS
    identity check. The IAM policy is generated from the same set (reconciler/iam.py), so
    refusing anything else keeps the policy and the calls one source of truth."""
    from reconciler.areas.base import declarations

    declared = {(op.service, op.name) for op in declarations()}
    return frozenset(declared | {(STS, "GetCallerIdentity")})


class UndeclaredOperationError(RuntimeError):
    """A programming error: an area called an operation it does not declare."""


# Digest material (the opt-out watermark's SHA-256 of the policy's numbers, in TagResource's
# tags) is as private as the numbers it stands for: no run of 48 or more hex digits is logged
# (resource ids hold 32, which a debug log needs; SHA-256 and HMAC-SHA256 digests hold 64).
_HEX_RUN = re.compile(r"[0-9a-fA-F]{48,}")


def _summarise(params: Mapping[str, Any]) -> str:
    """Parameters for the debug log: masked numbers, no digests, bounded size, never secrets."""
    parts = []
    for name in sorted(params):
        if "Secret" in name or ("Token" in name and name != "NextToken"):
            continue
        text = _HEX_RUN.sub("<digest>", mask_text(str(params[name])))
        parts.append(f"{name}={text[:120]}")
    return " ".join(parts)


@dataclass
class CallRecord:
    service: str
    operation: str
    latency_ms: float
    retries: int
    outcome: str  # "ok" or the error code


@dataclass
class Api:
    """Calls AWS operations by their API names through cached boto3 clients."""

    session: boto3.Session
    region: str
    limiter: RateLimiter | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = interrupt.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    calls: Counter[str] = field(default_factory=Counter)  # "Service.Operation" -> count, for tests
    retries_used: int = 0
    listeners: list[Callable[[CallRecord], None]] = field(default_factory=list)
    # The clock the rate limiter reads and that :meth:`parallel` keeps worker threads in step with
    # (a simulated one in tests and the benchmark; wall time otherwise).
    clock: Callable[[], float] = time.monotonic
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _listings: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _listing_locks: dict[tuple[Any, ...], lanes.Lock] = field(default_factory=dict, repr=False)
    _gates: dict[tuple[str, str], lanes.Lock] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        # boto3 clients are thread-safe once made; making one from a shared session is not.
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self.session.client(
                    service,
                    region_name=self.region,
                    # Retries are ours (see the module docstring): botocore's would double-count them.
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
                )
                self._clients[service] = client
            return client

    def listing(self, service: str, operation: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a listing, read once per run and shared by the areas that need it
        (quotas are 1 request/s: two areas listing the same numbers would pay twice). A write that
        could change a listing (see :func:`keeps_listings`) forgets every cached listing, so
        nothing read before it is reused."""
        key = (service, operation, tuple(sorted((k, repr(v)) for k, v in params.items())))
        with self._lock:
            lock = self._listing_locks.setdefault(key, lanes.Lock())
        with lock:  # a second reader of the same listing waits for the first instead of listing again
            with self._lock:
                cached = self._listings.get(key)
            if cached is None:
                cached = list(self.pages(service, operation, **params))
                with self._lock:
                    self._listings[key] = cached
            return cached

    def wait_until(self, moment: float) -> None:
        """Wait until ``moment`` on the Api's clock. Handing work between threads, this keeps a
        simulated clock honest (each thread has its own time lane: a consumer must not act before
        the moment its producer handed the work over); on a wall clock it is usually a no-op."""
        lag = moment - self.clock()
        if lag > 0:
            self.sleep(lag)

    def parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``tasks`` in one thread each and return their results in order.

        Quotas are per operation, so independent streams of calls (one operation each) finish in
        the time of the slowest rather than the sum; the rate limiter keeps each operation within
        its quota across threads. On a simulated clock every thread has its own time lane that
        starts at the clock's base time: each worker first catches its lane up with the caller's
        time, and the caller then waits until the last worker's end (on a wall clock both are
        no-ops). The first exception is re-raised in the caller after every task has ended."""
        if len(tasks) <= 1:
            return [task() for task in tasks]
        start = self.clock()
        results: list[Any] = [None] * len(tasks)
        ends = [start] * len(tasks)
        errors: list[tuple[int, BaseException]] = []

        def run(index: int, task: Callable[[], T]) -> None:
            self.wait_until(start)
            try:
                results[index] = task()
            except BaseException as error:  # re-raised in the caller below
                errors.append((index, error))
            ends[index] = self.clock()

        with interrupt.shielded():  # Ctrl-C: the workers stop at their next call (see reconciler.interrupt)
            # On a simulated clock that schedules its threads (reconciler/lanes.py) they run one at
            # a time in simulated-time order; otherwise these are plain threads.
            threads = [lanes.start(partial(run, i, t)) for i, t in enumerate(tasks)]
            for thread in threads:
                thread.join(interrupt.join)
        interrupt.check()
        self.wait_until(max(ends))
        if errors:
            raise min(errors, key=lambda item: item[0])[1]
        return results

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        if (service, operation) not in declared_operations():
            raise UndeclaredOperationError(
                f"{service}:{operation} is not declared by any policy area, so the generated IAM "
                "policy would not allow it: add it to the area's `operations`"
            )
        method = getattr(self.client(service), xform_name(operation))
        if not operation.startswith(READ_PREFIXES) and self._listings:
            with self._lock:
                if not keeps_listings(service, operation):
                    self._listings.clear()
                elif service == RAM:  # a RAM write changes RAM's listings (shares) only
                    for key in [k for k in self._listings if k[0] == RAM]:
                        del self._listings[key]
        retries = 0
        while True:
            # Calls of one operation take their rate-limit slots in turn (threads of :meth:`parallel`
            # share quotas). On the wall clock a call is sent once it has its slot, so several of
            # one operation may be in flight (10 PutOptedOutNumber a second need that at 100 ms
            # or more of latency). On a simulated clock each call is also answered before the next
            # slot is given: threads keep time lanes of their own, and a later slot must never
            # reach the quota's bucket before an earlier one.
            serialise = self.clock is not time.monotonic
            interrupt.check()  # no new call after Ctrl-C
            with self._gate(service, operation):
                if self.limiter is not None:
                    self.limiter.acquire(service, operation)
                interrupt.check()
                if serialise:
                    started, response, failure = self._send(method, params)
            if not serialise:
                started, response, failure = self._send(method, params)
            if failure is not None:
                latency = (time.perf_counter() - started) * 1000
                code = error_code(failure) or type(failure).__name__
                can_retry = (
                    is_retryable(failure)
                    and retries + 1 < self.retry.max_attempts
                    and self.retries_used < self.retry.run_budget
                )
                self._record(service, operation, params, latency, retries, code, will_retry=can_retry)
                if self.limiter is not None and code in THROTTLING_CODES:
                    self.limiter.throttled(service, operation)
                if not can_retry:
                    raise failure
                retries += 1
                with self._lock:
                    self.retries_used += 1
                self.sleep(self.retry.delay(retries, self.rng))
                continue
            latency = (time.perf_counter() - started) * 1000
            if self.limiter is not None:
                self.limiter.succeeded(service, operation)
            self._record(service, operation, params, latency, retries, "ok", will_retry=False)
            response.pop("ResponseMetadata", None)
            return response

    @staticmethod
    def _send(method: Callable[..., dict[str, Any]], params: dict[str, Any]) -> tuple[float, dict[str, Any], Exception | None]:
        started = time.perf_counter()
        try:
            with interrupt.shielded():  # a call sent is answered, even after Ctrl-C
                return started, method(**params), None
        except Exception as error:
            return started, {}, error

    def _gate(self, service: str, operation: str) -> lanes.Lock:
        with self._lock:
            return self._gates.setdefault((service, operation), lanes.Lock())

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Follow the pagination token to the last page (RAM spells it ``nextToken``)."""
        token_key = "nextToken" if service == RAM else "NextToken"
        token: str | None = None
        while True:
            if token:
                params[token_key] = token
            page = self.call(service, operation, **params)
            yield page
            token = page.get(token_key)
            if not token:
                return

    def _record(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        latency_ms: float,
        retries: int,
        outcome: str,
        will_retry: bool,
    ) -> None:
        if not will_retry:
            with self._lock:
                self.calls[f"{service}.{operation}"] += 1
            record = CallRecord(service, operation, round(latency_ms, 1), retries, outcome)
            for listener in self.listeners:
                listener(record)
        log.debug(
            "aws.call",
            service=service,
            operation=operation,
            latency_ms=round(latency_ms, 1),
            retries=retries,
            outcome=outcome,
            retrying=will_retry,
            params=_summarise(params),
        )


# Sessions -------------------------------------------------------------------------------------


_LOADER: Any = None


def shared_core_session() -> Any:
    """A botocore session using one data loader per process: service models are parsed once,
    not once per target session (about 0.6 s each for sms-voice, RAM and STS)."""
    import botocore.loaders
    import botocore.session

    global _LOADER
    if _LOADER is None:
        _LOADER = botocore.loaders.create_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return core


class SessionFactory:
    """Real AWS: the standard credential chain (env, profile, SSO, instance role…)."""

    def base_session(self, account_id: str, region: str) -> boto3.Session:
        return boto3.Session(region_name=region, botocore_session=shared_core_session())

    def assumed_session(self, credentials: Mapping[str, Any], account_id: str, region: str) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
            botocore_session=shared_core_session(),
        )


class SandboxSessionFactory(SessionFactory):
    """An in-process sandbox: sessions whose calls are answered by ``sandbox`` (see reconciler.sandbox).

    The sandbox names the account by the access key id.
    """

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def _session(
        self, account_id: str, region: str, secret: str | None = None, token: str | None = None
    ) -> boto3.Session:
        from reconciler.sandbox import SANDBOX_SECRET

        session = boto3.Session(
            aws_access_key_id=account_id,
            aws_secret_access_key=secret or SANDBOX_SECRET,
            aws_session_token=token,
            region_name=region,
            botocore_session=shared_core_session(),
        )
        self.sandbox.attach(session)
        return session

    def base_session(self, account_id: str, region: str) -> boto3.Session:
        return self._session(account_id, region)

    def assumed_session(self, credentials: Mapping[str, Any], account_id: str, region: str) -> boto3.Session:
        # The sandbox's AssumeRole issues real session credentials that act as the role's account.
        return self._session(
            credentials["AccessKeyId"], region, credentials["SecretAccessKey"], credentials["SessionToken"]
        )


def connect(
    factory: SessionFactory,
    account_id: str,
    region: str,
    role_arn: str | None,
    session_name: str = "sms-policy-reconciler",
) -> boto3.Session:
    """A session for the target: the base credentials, or a role assumed through STS."""
    session = factory.base_session(account_id, region)
    if not role_arn:
        return session
    sts = session.client("sts", region_name=region)
    started = time.perf_counter()
    response = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    log.debug("aws.call", service=STS, operation="AssumeRole", role_arn=role_arn,
              latency_ms=round((time.perf_counter() - started) * 1000, 1), retries=0, outcome="ok")
    return factory.assumed_session(response["Credentials"], account_id, region)


def caller_account(api: Api) -> str:
    """The account the credentials belong to (STS GetCallerIdentity)."""
    return str(api.call(STS, "GetCallerIdentity")["Account"])
