"""Sandbox state: one :class:`RegionState` per (account, region), held by a :class:`World`.

Records are plain dataclasses so a snapshot is ``dataclasses.asdict`` away (see snapshot.py).
Opt-out entries live in a ``SortedDict`` keyed by phone number (an :class:`OptOutEntries`, which
also indexes them by ``EndUserOptedOut``) so that a page of a million-number list, filtered or
not, costs O(log n + page), as AWS's does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedDict, SortedList

from reconciler.lanes import Lane, Scheduler, current_lane

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class Clock:
    """Wall clock, or a simulated one for deterministic tests and time-scaled benchmarks."""

    def __init__(self, start: float | None = None, simulated: bool = False) -> None:
        self.simulated = simulated
        self._now = start if start is not None else time.time()
        self._lock = threading.Lock()
        self._lanes = threading.local()
        self._latest = self._now
        # Runs this clock's threads one at a time in simulated-time order, once a thread adopts it
        # (:meth:`run_lanes`); see reconciler/lanes.py.
        self.scheduler = Scheduler()

    def _lane(self) -> Lane | None:
        lane = current_lane()
        return lane if lane is not None and lane.scheduler is self.scheduler else None

    def _offset(self) -> float:
        lane = self._lane()
        return lane.offset if lane is not None else getattr(self._lanes, "offset", 0.0)

    def now(self) -> float:
        if self.simulated:
            with self._lock:
                return self._now + self._offset()
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: really on a wall clock; on a simulated one, advance the caller's lane.

        Simulated time is shared base time (moved by :meth:`advance`) plus a per-thread *lane*
        offset that only that thread's waits move. Concurrent callers therefore wait in parallel,
        as real clients on separate connections do: ten threads each sleeping one second end at
        base + 1 s, not base + 10 s. Shared resources that serialise callers (quota buckets)
        hand out time slots, so callers of one bucket still queue behind each other. Threads of
        :meth:`run_lanes` also let every earlier lane run first (reconciler/lanes.py).
        """
        if seconds <= 0:
            return
        if not self.simulated:
            time.sleep(seconds)
            return
        lane = self._lane()
        with self._lock:
            offset = (lane.offset if lane is not None else getattr(self._lanes, "offset", 0.0)) + seconds
            self._latest = max(self._latest, self._now + offset)
        if lane is not None:
            self.scheduler.sleep(lane, seconds)
        else:
            self._lanes.offset = offset

    def latest(self) -> float:
        """The furthest any lane has reached (the makespan end of a simulated run)."""
        if not self.simulated:
            return time.time()
        with self._lock:
            return max(self._latest, self._now + self._offset())

    def advance(self, seconds: float) -> None:
        if not self.simulated:
            raise RuntimeError("only a simulated clock can be advanced")
        with self._lock:
            self._now += seconds

    def run_lanes(self) -> None:
        """From now on the calling thread and the threads it starts (``reconciler.lanes.start``)
        run one at a time in simulated-time order, so that simulated time does not depend on how
        the machine schedules them. Only on a simulated clock; call it before starting threads."""
        if not self.simulated:
            raise RuntimeError("only a simulated clock schedules its threads")
        if self._lane() is None:
            self.scheduler.adopt(getattr(self._lanes, "offset", 0.0))

    def end_lanes(self) -> None:
        """The calling thread (of :meth:`run_lanes`) stops scheduling; its time stays where it is."""
        lane = self._lane()
        if lane is not None:
            self.scheduler.leave(lane)
            self._lanes.offset = lane.offset


@dataclass
class PhoneNumber:
    phone_number_id: str  # "phone-" + 32 hex
    arn: str
    phone_number: str  # E.164
    iso_country_code: str
    message_type: str  # TRANSACTIONAL | PROMOTIONAL
    number_capabilities: list[str]  # SMS, VOICE, MMS
    number_type: str  # SHORT_CODE | LONG_CODE | TOLL_FREE | TEN_DLC | SIMULATOR
    monthly_leasing_price: str
    created: float
    status: str = "ACTIVE"
    two_way_enabled: bool = False
    two_way_channel_arn: str | None = None
    two_way_channel_role: str | None = None
    self_managed_opt_outs_enabled: bool = False
    opt_out_list_name: str = "Default"
    international_sending_enabled: bool = False
    deletion_protection_enabled: bool = False
    pool_id: str | None = None
    registration_id: str | None = None


@dataclass
class SenderId:
    sender_id: str
    iso_country_code: str
    arn: str
    message_types: list[str]
    monthly_leasing_price: str = "0.00"
    deletion_protection_enabled: bool = False
    registered: bool = False
    registration_id: str | None = None


@dataclass
class Pool:
    pool_id: str  # "pool-" + 32 hex
    arn: str
    message_type: str
    created: float
    status: str = "ACTIVE"
    two_way_enabled: bool = False
    two_way_channel_arn: str | None = None
    two_way_channel_role: str | None = None
    self_managed_opt_outs_enabled: bool = False
    opt_out_list_name: str = "Default"
    shared_routes_enabled: bool = False
    deletion_protection_enabled: bool = False
    # Origination identity ARNs (phone numbers, sender IDs), in association order.
    members: list[str] = field(default_factory=list)


@dataclass
class ConfigurationSet:
    name: str
    arn: str
    created: float
    default_message_type: str | None = None
    default_sender_id: str | None = None
    default_message_feedback_enabled: bool = False
    protect_configuration_id: str | None = None


# Slots: a million-number list holds a million of these.
@dataclass(slots=True)
class OptOutEntry:
    opted_out_timestamp: float
    end_user_opted_out: bool


class OptOutEntries(SortedDict):  # type: ignore[misc]
    """An opt-out list's entries by number, with a sorted index of numbers per ``EndUserOptedOut``.

    The index makes a page of ``DescribeOptedOutNumbers`` filtered on ``end-user-opted-out`` cost
    O(log n + page) however rare the wanted entries are, instead of a scan of the whole list. It
    is built on the first filtered read (O(n), once) and then kept current by every write below,
    so loading a million-entry list costs nothing extra. Entries are replaced, never changed in
    place (``OptOutEntry`` objects may be shared between numbers).
    """

    _by_flag: dict[bool, SortedList] | None = None

    def by_flag(self, end_user_opted_out: bool) -> SortedList:
        """The numbers whose entry has ``EndUserOptedOut == end_user_opted_out``, sorted."""
        if self._by_flag is None or sum(len(v) for v in self._by_flag.values()) != len(self):
            # Never built, or changed behind the index's back (a view's ``del``): rebuild.
            split: dict[bool, list[str]] = {True: [], False: []}
            get = dict.__getitem__
            for number in self._list:
                split[bool(get(self, number).end_user_opted_out)].append(number)
            self._by_flag = {flag: SortedList(numbers) for flag, numbers in split.items()}
        return self._by_flag[end_user_opted_out]

    def reindex(self) -> None:
        self._by_flag = None

    def _unindex(self, number: Any) -> None:
        if self._by_flag is not None and dict.__contains__(self, number):
            self._by_flag[bool(dict.__getitem__(self, number).end_user_opted_out)].discard(number)

    def __setitem__(self, number: Any, entry: Any) -> None:
        self._unindex(number)
        super().__setitem__(number, entry)
        if self._by_flag is not None:
            self._by_flag[bool(entry.end_user_opted_out)].add(number)

    _setitem = __setitem__

    def __delitem__(self, number: Any) -> None:
        self._unindex(number)
        super().__delitem__(number)

    def pop(self, number: Any, *default: Any) -> Any:
        self._unindex(number)
        return super().pop(number, *default)

    def popitem(self, index: int = -1) -> tuple[Any, Any]:
        self.reindex()
        return super().popitem(index)  # type: ignore[no-any-return]

    def setdefault(self, number: Any, default: Any = None) -> Any:
        if number not in self:
            self[number] = default
        return self[number]

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.reindex()

    _update = update

    def clear(self) -> None:
        super().clear()
        self.reindex()


def as_opt_out_entries(entries: SortedDict) -> OptOutEntries:
    """``entries`` itself, made an :class:`OptOutEntries` in O(1) (no copy of a million entries)."""
    if not isinstance(entries, OptOutEntries):
        if type(entries) is not SortedDict:
            entries = SortedDict(entries)
        entries.__class__ = OptOutEntries
    return entries


@dataclass
class OptOutList:
    name: str
    arn: str
    created: float
    # phone number (E.164) -> entry, sorted by number for stable O(log n) pagination. Whatever
    # SortedDict is assigned becomes an OptOutEntries (see __setattr__).
    entries: SortedDict = field(default_factory=SortedDict)
    # phone number -> time of the last DeleteOptedOutNumber (the 30-day rule).
    last_deleted: dict[str, float] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "entries":
            value = as_opt_out_entries(value)
        super().__setattr__(name, value)


@dataclass
class NumberOverride:
    destination_phone_number: str
    action: str  # ALLOW | BLOCK
    created: float
    expiration: float | None = None


@dataclass
class ProtectConfiguration:
    protect_configuration_id: str  # "protect-" + 32 hex
    arn: str
    created: float
    deletion_protection_enabled: bool = False
    # capability (SMS|VOICE|MMS|RCS) -> {ISO country -> ALLOW|BLOCK|MONITOR|FILTER}; a country
    # missing from the map is ALLOW (new configurations allow every country).
    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    number_overrides: dict[str, NumberOverride] = field(default_factory=dict)


@dataclass
class ShareAssociation:
    association_type: str  # PRINCIPAL | RESOURCE
    entity: str  # principal id/ARN or resource ARN
    status: str  # ASSOCIATING | ASSOCIATED | DISASSOCIATING | DISASSOCIATED | FAILED
    created: float
    updated: float
    external: bool = False
    # when the pending status (ASSOCIATING/DISASSOCIATING) settles, in clock time
    settles_at: float = 0.0
    status_message: str = ""


@dataclass
class ShareInvitation:
    """An invitation RAM sends an account outside the owner's organization (or any account, for
    a principal that is not covered by organization sharing); the principal's association stays
    ASSOCIATING until the receiver accepts."""

    arn: str
    receiver_account_id: str
    status: str  # PENDING | ACCEPTED | REJECTED | EXPIRED
    created: float
    expires_at: float


@dataclass
class ResourceShare:
    arn: str
    name: str
    owner_account_id: str
    allow_external_principals: bool
    created: float
    updated: float
    status: str = "ACTIVE"
    permission_arns: list[str] = field(default_factory=list)  # one per resource type
    associations: list[ShareAssociation] = field(default_factory=list)
    invitations: list[ShareInvitation] = field(default_factory=list)
    # STANDARD | CREATED_FROM_POLICY (made by RAM from a resource policy) | PROMOTING_TO_STANDARD
    feature_set: str = "STANDARD"
    # CREATED_FROM_POLICY only: whether a customer managed permission matching the policy's exists
    # (PromotePermissionCreatedFromPolicy ran), which PromoteResourceShareCreatedFromPolicy needs.
    policy_permission_promoted: bool = False


@dataclass
class ResourcePolicy:
    """A resource-based policy attached with PutResourcePolicy (see resource_policy.py)."""

    resource_arn: str
    document: str  # the JSON text as written (GetResourcePolicy returns it unchanged)
    created: float
    # The CREATED_FROM_POLICY share RAM made from it ("" once promoted to STANDARD).
    share_arn: str = ""


@dataclass
class SentMessage:
    message_id: str
    destination: str
    origination_identity: str | None
    body: str
    protect_configuration_id: str | None
    configuration_set_name: str | None
    sent_at: float


@dataclass
class TrailEvent:
    """One CloudTrail management event of the region's event history (see trail.py)."""

    event_id: str
    event_name: str
    event_source: str
    event_time: float
    delivered_at: float  # when LookupEvents starts to return it (the delivery delay)
    read_only: str  # "true" / "false", as LookupEvents returns it
    username: str
    access_key_id: str
    resources: list[dict[str, str]] = field(default_factory=list)  # [{ResourceType, ResourceName}]
    cloud_trail_event: str = "{}"  # the event record as a JSON string
    sequence: int = 0  # recording order in the region, to order events of the same second


@dataclass
class RegionState:
    account: str
    region: str
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)  # by id
    sender_ids: dict[str, SenderId] = field(default_factory=dict)  # by "SENDERID/CC"
    pools: dict[str, Pool] = field(default_factory=dict)  # by id
    configuration_sets: dict[str, ConfigurationSet] = field(default_factory=dict)  # by name
    opt_out_lists: dict[str, OptOutList] = field(default_factory=dict)  # by name
    protect_configurations: dict[str, ProtectConfiguration] = field(default_factory=dict)  # by id
    account_default_protect_configuration_id: str | None = None
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # by resource ARN
    resource_shares: dict[str, ResourceShare] = field(default_factory=dict)  # by share ARN
    resource_policies: dict[str, ResourcePolicy] = field(default_factory=dict)  # by resource ARN
    sent_messages: list[SentMessage] = field(default_factory=list)
    # CloudTrail event history, in recording order (trail.py keeps it to the 90-day retention).
    trail_events: list[TrailEvent] = field(default_factory=list)


class World:
    """Every account and region the sandbox knows, plus its clock and a lock for threads."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.regions: dict[tuple[str, str], RegionState] = {}
        # Serialises handlers: the HTTP server is threaded and state is not otherwise locked.
        self.lock = threading.RLock()
        # Organization membership for RAM (account id -> org/OU path); empty means no organization.
        self.organization: dict[str, Any] = {}
        # STS sessions issued by AssumeRole: access key id -> {account, arn, session_token, expires}.
        self.credentials: dict[str, dict[str, Any]] = {}
        # Behaviour switches saved with the world, e.g. "ram.association_delay" (seconds).
        self.settings: dict[str, Any] = {}

    def region(self, account: str, region: str) -> RegionState:
        key = (account, region)
        state = self.regions.get(key)
        if state is None:
            state = RegionState(account=account, region=region)
            self.regions[key] = state
        return state
