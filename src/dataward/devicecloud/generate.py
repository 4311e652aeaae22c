"""The reference device cloud generator: seeded, deterministic, vectorised, chunked.

Users are generated in fixed chunks of ``CHUNK_USERS``; every column of every chunk draws from its own seeded
stream (``_vector.stream(seed, chunk, "table.column")``), and the rows of a chunk's devices, events, tokens
and integrations follow from that chunk's users. So the same (users, seed) gives the same rows in every
output kind, whatever is written first, and memory stays bounded by one chunk (about 1M events).

``DeviceCloud`` is the library API (``batches(table)``, ``row_counts()``, the numeric cores the ground truth is
computed from); ``generate(users, seed, out)`` writes all tables to a URL through ``dataward.tables``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataward.devicecloud import values as V
from dataward.devicecloud._vector import (
    B64,
    B64URL,
    BASE62,
    BCRYPT64,
    HEX,
    categorical,
    choose,
    concat,
    fixed_width_strings,
    hex_pairs,
    number_text,
    pool,
    random_text,
    stream,
    take,
    template_text,
    timestamps,
    where,
)
from dataward.devicecloud.schema import TABLE_NAMES, arrow_schema

CHUNK_USERS = 100_000  # part of the output's definition: changing it changes the rows
EPOCH_START = np.datetime64("2017-09-01")  # the first sign-ups
EPOCH_END = np.datetime64("2020-02-01")  # data runs up to (not including) this instant
BETA_START = np.datetime64("2019-06-01")  # the smart-scale beta (body metrics)
MONTHLY_GROWTH = 1.09  # sign-ups per month grow by 9 %
DEVICES_PER_USER_WEIGHTS = (0.38, 0.25, 0.15, 0.09, 0.06, 0.04, 0.02, 0.01)  # 1..8 devices, mean ~2.45
BETA_COHORT_PER_USER = 140 / 2_400_000  # about 140 beta testers per 2.4M users
DAY = 86_400.0


def _epoch(t: np.datetime64) -> float:
    return float(t.astype("datetime64[s]").astype(np.int64))


START_S, END_S, BETA_S = _epoch(EPOCH_START), _epoch(EPOCH_END), _epoch(BETA_START)


@dataclass(frozen=True)
class UserCore:
    """The numeric facts of one chunk's users that other tables depend on."""

    index: np.ndarray  # 0-based global user index; id = index + 1
    created_s: np.ndarray
    month: np.ndarray  # index into DeviceCloud.months
    country: np.ndarray  # index into V.COUNTRIES
    region: np.ndarray  # index into DeviceCloud.regions
    first: np.ndarray  # index into V.FIRST_NAMES
    last: np.ndarray  # index into V.LAST_NAMES
    devices: np.ndarray  # devices per user (1..8)

    @property
    def ids(self) -> np.ndarray:
        return self.index + 1


@dataclass(frozen=True)
class DeviceCore:
    ids: np.ndarray
    user: np.ndarray  # position of the owner in the chunk's UserCore
    model: np.ndarray  # index into V.MODELS
    firmware: np.ndarray  # index into DeviceCloud.firmwares (global)
    firmware_age: np.ndarray  # 0 = newest firmware of its model, 1 = one older, ...
    activated_s: np.ndarray
    last_seen_s: np.ndarray


@dataclass(frozen=True)
class EventCore:
    ids: np.ndarray
    device: np.ndarray  # position in the chunk's DeviceCore
    ts_s: np.ndarray
    kind: np.ndarray  # 0 connect, 1 disconnect, 2 failure
    error: np.ndarray  # index into V.ERROR_CODES (meaningful where kind == 2)
    rssi: np.ndarray


EVENT_KINDS = ("connect", "disconnect", "failure")
PLATFORMS = ("ios", "android", "web")
PROVIDERS = ("alexa", "google_assistant", "ifttt")


class DeviceCloud:
    """A reference device cloud of ``users`` users generated from ``seed``."""

    def __init__(self, users: int, seed: int = 0) -> None:
        if users < 1:
            raise ValueError("users must be at least 1")
        self.users = int(users)
        self.seed = int(seed)
        self.chunks = (self.users + CHUNK_USERS - 1) // CHUNK_USERS
        self.months = np.arange(EPOCH_START.astype("datetime64[M]"), EPOCH_END.astype("datetime64[M]"))
        self.month_start_s = self.months.astype("datetime64[s]").astype(np.float64)
        self.month_len_s = np.diff(
            np.append(self.months, self.months[-1] + 1).astype("datetime64[s]")
        ).astype(np.float64)
        self.month_counts = _allocate(self.users, MONTHLY_GROWTH ** np.arange(len(self.months)))
        self.month_first = np.concatenate([[0], np.cumsum(self.month_counts)[:-1]])
        self.regions, self.region_tz, self._country_regions = _regions()
        self.firmwares, self._firmware_first = _firmwares()
        self._pools = _Pools.build(self.regions, self.region_tz, self.firmwares)
        self._tallies: dict[int, dict[str, np.ndarray]] = {}  # per-chunk counts, kept by the events pass

    def chunk_tally(self, chunk: int) -> dict[str, np.ndarray]:
        """The ground-truth counts of one chunk (connects, attempts, failures by model/firmware/error code,
        devices per user); remembered when the events of the chunk were built, computed otherwise."""
        if chunk not in self._tallies:
            users = self.user_core(chunk)
            devices = self.device_core(chunk, users)
            self._tallies[chunk] = _tally(
                users, devices, self.event_core(chunk, devices), len(self.firmwares)
            )
        return self._tallies[chunk]

    # -- sizes ------------------------------------------------------------------------------------------
    def chunk_users(self, chunk: int) -> tuple[int, int]:
        start = chunk * CHUNK_USERS
        return start, min(self.users, start + CHUNK_USERS)

    @cached_property
    def _offsets(self) -> dict[str, np.ndarray]:
        """First id of every chunk for each table (ids are global and gap-free)."""
        counts: dict[str, list[int]] = {t: [] for t in TABLE_NAMES if t != "body_metrics"}
        for c in range(self.chunks):
            start, stop = self.chunk_users(c)
            devices = self._device_counts(c)
            counts["users"].append(stop - start)
            counts["devices"].append(int(devices.sum()))
            counts["connection_events"].append(int(self._event_counts(c, int(devices.sum())).sum()))
            counts["api_tokens"].append(int(self._token_counts(c, stop - start).sum()))
            counts["integrations"].append(int(self._integration_mask(c, stop - start).sum()))
        return {t: np.concatenate([[0], np.cumsum(v)]).astype(np.int64) for t, v in counts.items()}

    def row_counts(self) -> dict[str, int]:
        counts = {t: int(v[-1]) for t, v in self._offsets.items()}
        counts["body_metrics"] = int(self._body_metrics_core()[0].size)
        return {t: counts[t] for t in TABLE_NAMES}

    @property
    def beta_cohort(self) -> int:
        """Beta testers with body metrics: about 140 per 2.4M users, at least one from 1,000 users."""
        size = round(self.users * BETA_COHORT_PER_USER)
        return max(size, 1) if self.users >= 1000 else size

    # -- per-chunk counts (each its own stream) ---------------------------------------------------------
    def _device_counts(self, chunk: int) -> np.ndarray:
        start, stop = self.chunk_users(chunk)
        return (
            categorical(stream(self.seed, chunk, "devices.count"), stop - start, DEVICES_PER_USER_WEIGHTS) + 1
        )

    def _event_counts(self, chunk: int, devices: int) -> np.ndarray:
        return 1 + stream(self.seed, chunk, "connection_events.count").binomial(6, 0.5, devices)

    def _token_counts(self, chunk: int, users: int) -> np.ndarray:
        u = stream(self.seed, chunk, "api_tokens.count").random(users)
        return 1 + (u < 0.45).astype(np.int64) + (u < 0.08).astype(np.int64)

    def _integration_mask(self, chunk: int, users: int) -> np.ndarray:
        """(users, 3) booleans: linked Alexa / Google Assistant / IFTTT."""
        u = stream(self.seed, chunk, "integrations.linked").random((users, 3))
        return u < np.array([0.22, 0.12, 0.04])

    # -- numeric cores ----------------------------------------------------------------------------------
    def user_core(self, chunk: int) -> UserCore:
        start, stop = self.chunk_users(chunk)
        n = stop - start
        index = np.arange(start, stop, dtype=np.int64)
        month = np.searchsorted(np.cumsum(self.month_counts), index, side="right")
        rank = index - self.month_first[month]
        jitter = stream(self.seed, chunk, "users.created_at").random(n)
        # ids follow sign-up order: the rank within the month fixes the slot, the jitter places it inside
        created = (
            self.month_start_s[month] + (rank + jitter) / self.month_counts[month] * self.month_len_s[month]
        )
        shares = [c[0] for c in V.COUNTRIES.values()]
        country = categorical(stream(self.seed, chunk, "users.country"), n, shares)
        region = self._draw_region(chunk, country)
        first = stream(self.seed, chunk, "users.first_name").integers(0, len(V.FIRST_NAMES), n)
        last = stream(self.seed, chunk, "users.last_name").integers(0, len(V.LAST_NAMES), n)
        return UserCore(index, created, month, country, region, first, last, self._device_counts(chunk))

    def _draw_region(self, chunk: int, country: np.ndarray) -> np.ndarray:
        rng = stream(self.seed, chunk, "users.region")
        us_state = categorical(rng, country.size, [s[0] for s in V.US_STATES.values()])
        first, count = self._country_regions[:, 0], self._country_regions[:, 1]
        other = first[country] + np.floor(rng.random(country.size) * count[country]).astype(np.int64)
        return np.where(country == 0, us_state, other)

    def device_core(self, chunk: int, users: UserCore | None = None) -> DeviceCore:
        users = users or self.user_core(chunk)
        owner = np.repeat(np.arange(users.index.size), users.devices)
        n = owner.size
        ids = self._offsets["devices"][chunk] + 1 + np.arange(n, dtype=np.int64)
        model = categorical(stream(self.seed, chunk, "devices.model"), n, V.MODEL_WEIGHTS)
        versions = np.array([len(m[1]) for m in V.MODELS.values()])[model]
        # newest firmware is the most common: age 0 (newest) 55 %, 1: 30 %, 2: 15 % where the model has them
        age = categorical(stream(self.seed, chunk, "devices.firmware"), n, (0.55, 0.30, 0.15))
        age = np.minimum(age, versions - 1)
        firmware = self._firmware_first[model] + (versions - 1 - age)
        first_device = np.r_[True, owner[1:] != owner[:-1]] if n else np.zeros(0, bool)
        created = users.created_s[owner]
        rng = stream(self.seed, chunk, "devices.activated_at")
        later = created + rng.random(n) ** 1.5 * np.maximum(END_S - created - DAY, 0)
        soon = created + np.minimum(rng.exponential(DAY, n), np.maximum(END_S - created - 3600, 0))
        activated = np.where(first_device, soon, later)
        rng = stream(self.seed, chunk, "devices.last_seen_at")
        churned = rng.random(n) < 0.12
        recent = END_S - rng.exponential(2 * DAY, n)
        last_seen = np.where(churned, activated + rng.random(n) * (END_S - activated), recent)
        last_seen = np.clip(last_seen, activated, END_S - 1)
        return DeviceCore(ids, owner, model, firmware, age, activated, last_seen)

    def event_core(self, chunk: int, devices: DeviceCore | None = None) -> EventCore:
        devices = devices or self.device_core(chunk)
        counts = self._event_counts(chunk, devices.ids.size)
        device = np.repeat(np.arange(devices.ids.size), counts)
        n = device.size
        ids = self._offsets["connection_events"][chunk] + 1 + np.arange(n, dtype=np.int64)
        rng = stream(self.seed, chunk, "connection_events.ts")
        span = devices.last_seen_s - devices.activated_s
        ts = devices.activated_s[device] + rng.random(n) * span[device]
        base = np.array([m[2] for m in V.MODELS.values()])[devices.model]
        factor = np.array(V.FIRMWARE_FAILURE_FACTOR)[devices.firmware_age]
        p_fail = (base * factor)[device]
        rng = stream(self.seed, chunk, "connection_events.kind")
        u = rng.random(n)
        kind = np.where(u < p_fail, 2, np.where(rng.random(n) < 0.55, 0, 1))
        error = categorical(stream(self.seed, chunk, "connection_events.error_code"), n, V.ERROR_WEIGHTS)
        rng = stream(self.seed, chunk, "connection_events.rssi")
        home_signal = rng.normal(-58, 9, devices.ids.size)
        rssi = home_signal[device] + rng.normal(0, 4, n) - np.where(kind == 2, 9, 0)
        rssi = np.clip(np.round(rssi), -95, -25).astype(np.int32)
        return EventCore(ids, device, ts, kind.astype(np.int8), error, rssi)

    def _created_s(self, index: np.ndarray) -> np.ndarray:
        """created_at of arbitrary users (by 0-based index), through their chunks' cores."""
        out = np.empty(index.size)
        for chunk in np.unique(index // CHUNK_USERS):
            core = self.user_core(int(chunk))
            mine = index // CHUNK_USERS == chunk
            out[mine] = core.created_s[index[mine] - chunk * CHUNK_USERS]
        return out

    def _body_metrics_core(self) -> tuple[np.ndarray, np.ndarray]:
        """(user index per row, cohort user indices): 4-12 weigh-ins per beta tester."""
        rng = stream(self.seed, 0, "body_metrics.cohort")
        cohort = np.sort(rng.choice(self.users, size=self.beta_cohort, replace=False)).astype(np.int64)
        per_user = rng.integers(4, 13, cohort.size)
        return np.repeat(cohort, per_user), cohort

    # -- tables -----------------------------------------------------------------------------------------
    def batches(self, table: str, workers: int = 1) -> Iterator[pa.RecordBatch]:
        """The table's rows, one record batch per chunk of users (body_metrics: one batch).

        ``workers`` > 1 builds chunks in that many threads (NumPy and Arrow release the GIL), still yielded
        in order, so the output is the same.
        """
        if table == "body_metrics":
            yield self._body_metrics()
            return
        build = {
            "users": self._users,
            "devices": self._devices,
            "connection_events": self._events,
            "api_tokens": self._api_tokens,
            "integrations": self._integrations,
        }[table]
        if workers <= 1 or self.chunks == 1:
            for chunk in range(self.chunks):
                yield build(chunk)
            return
        _ = self._offsets  # computed once, before the threads share it
        with ThreadPoolExecutor(workers, thread_name_prefix="dataward-generate") as executor:
            pending: deque[Future[pa.RecordBatch]] = deque()
            next_chunk = 0
            while next_chunk < self.chunks or pending:
                while next_chunk < self.chunks and len(pending) < workers + 1:
                    pending.append(executor.submit(build, next_chunk))
                    next_chunk += 1
                yield pending.popleft().result()

    def table(self, table: str) -> pa.Table:
        """A whole table in memory (small clouds and tests)."""
        return pa.Table.from_batches(list(self.batches(table)), schema=arrow_schema(table))

    def _users(self, chunk: int) -> pa.RecordBatch:
        core = self.user_core(chunk)
        p, n = self._pools, core.index.size
        first, last = take(p.first, core.first), take(p.last, core.last)
        columns = {
            "id": pa.array(core.ids),
            "email": self._emails(chunk, core),
            "username": self._usernames(chunk, core),
            "full_name": concat(first, " ", last),
            "phone": self._phones(chunk, core),
            "country": take(p.countries, core.country),
            "region": take(p.regions, core.region),
            "created_at": timestamps(core.created_s),
            "password_hash": _password_hashes(stream(self.seed, chunk, "users.password_hash"), n),
            "mfa_enabled": pa.array(stream(self.seed, chunk, "users.mfa_enabled").random(n) < 0.12),
            "profile_photo_url": self._photo_urls(chunk, n),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("users"))

    def _emails(self, chunk: int, core: UserCore) -> pa.Array:
        rng = stream(self.seed, chunk, "users.email")
        n, p = core.index.size, self._pools
        number = number_text(_scramble(core.ids, 7919, self.users))  # unique per user, so emails are unique
        style = categorical(rng, n, (0.45, 0.3, 0.25))
        domain = categorical(rng, n, V.EMAIL_DOMAIN_WEIGHTS)
        word = rng.integers(0, len(V.DOMAIN_WORDS), n)
        tld = rng.integers(0, len(V.DOMAIN_TLDS), n)
        private = (rng.random(n) < 0.06).astype(np.int8)  # the long tail: small family domains
        first, last = core.first, core.last
        local = choose(
            style,
            [
                lambda r: concat(
                    take(p.first_lower, first[r]), ".", take(p.last_lower, last[r]), _rows(number, r)
                ),
                lambda r: concat(
                    take(p.first_initial, first[r]), take(p.last_lower, last[r]), _rows(number, r)
                ),
                lambda r: concat(take(p.first_lower, first[r]), "_", _rows(number, r)),
            ],
        )
        host = choose(
            private,
            [
                lambda r: take(p.email_domains, domain[r]),
                lambda r: concat(
                    take(p.last_lower, last[r]), take(p.domain_words, word[r]), take(p.domain_tlds, tld[r])
                ),
            ],
        )
        return concat(local, "@", host)

    def _usernames(self, chunk: int, core: UserCore) -> pa.Array:
        rng = stream(self.seed, chunk, "users.username")
        p, first, last = self._pools, core.first, core.last
        number = number_text(_scramble(core.ids, 104_729, self.users))
        style = categorical(rng, core.index.size, (0.4, 0.25, 0.2, 0.15))
        return choose(
            style,
            [
                lambda r: concat(
                    take(p.first_lower, first[r]), take(p.last_lower, last[r]), _rows(number, r)
                ),
                lambda r: concat(take(p.first, first[r]), "_", _rows(number, r)),
                lambda r: concat(
                    take(p.last_lower, last[r]), take(p.first_initial, first[r]), _rows(number, r)
                ),
                lambda r: concat("wyze", take(p.first_lower, first[r]), _rows(number, r)),
            ],
        )

    def _phones(self, chunk: int, core: UserCore) -> pa.Array:
        rng = stream(self.seed, chunk, "users.phone")
        digits = np.array([c[2] for c in V.COUNTRIES.values()])[core.country]
        low, high = 2 * 10 ** (digits - 1), 10**digits
        subscriber = rng.integers(low, high)
        missing = rng.random(core.index.size) < 0.3
        prefix = take(self._pools.phone_prefixes, core.country, mask=missing)
        return concat(prefix, number_text(subscriber))

    def _photo_urls(self, chunk: int, n: int) -> pa.Array:
        rng = stream(self.seed, chunk, "users.profile_photo_url")
        present = (rng.random(n) < 0.45).astype(np.int8)
        url = (b"https://wyze-user-avatars.s3.amazonaws.com/avatars/", (32, HEX), b".jpg")
        return choose(
            present, [lambda r: pa.nulls(r.size, pa.string()), lambda r: template_text(rng, r.size, *url)]
        )

    def _devices(self, chunk: int) -> pa.RecordBatch:
        users = self.user_core(chunk)
        core = self.device_core(chunk, users)
        p, n = self._pools, core.ids.size
        ssid = self._home_ssids(chunk, users)
        rng = stream(self.seed, chunk, "devices.wifi_ssid")
        device_ssid = take(ssid, core.user)
        extender = rng.random(n) < 0.07
        columns = {
            "id": pa.array(core.ids),
            "user_id": pa.array(users.ids[core.user]),
            "mac": _macs(stream(self.seed, chunk, "devices.mac"), n),
            "model": take(p.models, core.model),
            "firmware_version": take(p.firmwares, core.firmware),
            "nickname": self._nicknames(chunk, n),
            "wifi_ssid": where(extender, concat(device_ssid, "_EXT"), device_ssid),
            "ip_address": self._ip_addresses(chunk, users, core),
            "timezone": take(p.region_tz, users.region[core.user]),
            "activated_at": timestamps(core.activated_s),
            "last_seen_at": timestamps(core.last_seen_s),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("devices"))

    def _nicknames(self, chunk: int, n: int) -> pa.Array:
        """'Emma's Nursery' (a person), 'Grandma's Kitchen' (a relative), 'Back Yard' (a room), 'Wyze Cam 2'."""
        rng = stream(self.seed, chunk, "devices.nickname")
        p = self._pools
        style = categorical(rng, n, (0.32, 0.08, 0.52, 0.08))
        name = rng.integers(0, len(V.FIRST_NAMES), n)
        person_room = rng.integers(0, len(V.PERSON_ROOMS), n)
        relative = rng.integers(0, len(V.RELATIVES), n)
        relative_room = rng.integers(0, len(V.RELATIVE_ROOMS), n)
        room = rng.integers(0, len(V.ROOMS), n)
        number = rng.integers(1, 6, n)
        return choose(
            style,
            [
                lambda r: concat(take(p.first, name[r]), "'s ", take(p.person_rooms, person_room[r])),
                lambda r: concat(
                    take(p.relatives, relative[r]), "'s ", take(p.relative_rooms, relative_room[r])
                ),
                lambda r: take(p.rooms, room[r]),
                lambda r: concat("Wyze Cam ", number_text(number[r])),
            ],
        )

    def _home_ssids(self, chunk: int, users: UserCore) -> pa.Array:
        """One home network per user: router defaults ('NETGEAR47'), family names ('The Smiths 5G'),
        first names ("Emma's WiFi") and jokes."""
        rng = stream(self.seed, chunk, "users.home_ssid")
        n, p = users.index.size, self._pools
        style = categorical(rng, n, (0.45, 0.2, 0.15, 0.1, 0.1))
        brand = rng.integers(0, len(V.SSID_BRANDS), n)
        width = np.array([2, 5, 4, 3, 2, 4, 5, 4, 4, 4])[brand]
        suffix = rng.integers(0, 10**width)
        flags = rng.random((n, 3)) < 0.5
        joke = rng.integers(0, len(_JOKE_SSIDS), n)
        last, first = users.last, users.first

        def default(r: np.ndarray) -> pa.Array:
            return concat(take(p.ssid_brands, brand[r]), pc.utf8_lpad(number_text(suffix[r]), 2, "0"))

        return choose(
            style,
            [
                default,
                lambda r: concat("The ", take(p.last, last[r]), "s", where(flags[r, 0], " 5G", "")),
                lambda r: concat(take(p.last, last[r]), where(flags[r, 1], " Family WiFi", "Net")),
                lambda r: concat(take(p.first, first[r]), where(flags[r, 2], "'s WiFi", "'s Network")),
                lambda r: take(p.jokes, joke[r]),
            ],
        )

    def _ip_addresses(self, chunk: int, users: UserCore, core: DeviceCore) -> pa.Array:
        """The camera's LAN address (55 %) or the home's public address (45 %)."""
        rng = stream(self.seed, chunk, "users.public_ip")
        m = users.index.size
        first = np.array(V.PUBLIC_FIRST_OCTETS)[rng.integers(0, len(V.PUBLIC_FIRST_OCTETS), m)]
        octets = rng.integers(1, 255, (m, 3))
        rng = stream(self.seed, chunk, "devices.ip_address")
        n = core.ids.size
        lan_prefix = rng.integers(0, 5, n)
        host = rng.integers(2, 255, n)
        public = (rng.random(n) >= 0.55).astype(np.int8)

        def home(r: np.ndarray) -> pa.Array:
            u = core.user[r]
            parts = [
                number_text(first[u]),
                number_text(octets[u, 0]),
                number_text(octets[u, 1]),
                number_text(octets[u, 2]),
            ]
            return concat(parts[0], ".", parts[1], ".", parts[2], ".", parts[3])

        return choose(
            public,
            [lambda r: concat(take(self._pools.lan_prefixes, lan_prefix[r]), number_text(host[r])), home],
        )

    def _events(self, chunk: int) -> pa.RecordBatch:
        users = self.user_core(chunk)
        devices = self.device_core(chunk, users)
        core = self.event_core(chunk, devices)
        self._tallies[chunk] = _tally(users, devices, core, len(self.firmwares))
        columns = {
            "id": pa.array(core.ids),
            "device_id": pa.array(devices.ids[core.device]),
            "ts": timestamps(core.ts_s),
            "kind": take(self._pools.event_kinds, core.kind),
            "error_code": take(self._pools.error_codes, core.error, mask=core.kind != 2),
            "rssi": pa.array(core.rssi, pa.int32()),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("connection_events"))

    def _api_tokens(self, chunk: int) -> pa.RecordBatch:
        users = self.user_core(chunk)
        owner = np.repeat(np.arange(users.index.size), self._token_counts(chunk, users.index.size))
        n = owner.size
        rng = stream(self.seed, chunk, "api_tokens.values")
        platform = categorical(rng, n, (0.46, 0.44, 0.10))
        app = platform < 2
        # mobile apps hold JWTs; the web app holds opaque session tokens
        jwt = (b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ", (93, B64URL), b".", (43, B64URL))
        access = choose(
            (~app).astype(np.int8),
            [
                lambda r: template_text(rng, r.size, *jwt),
                lambda r: template_text(rng, r.size, b"wz_", (40, BASE62)),
            ],
        )
        created = users.created_s[owner]
        issued = created + rng.random(n) * (END_S - created)
        expires = issued + np.where(app, 180 * DAY, 30 * DAY)
        revoked = issued + rng.random(n) * (np.minimum(expires, END_S) - issued)
        columns = {
            "id": pa.array(self._offsets["api_tokens"][chunk] + 1 + np.arange(n, dtype=np.int64)),
            "user_id": pa.array(users.ids[owner]),
            "platform": take(pool(PLATFORMS), platform),
            "access_token": access,
            "refresh_token": random_text(rng, n, 64, B64URL),
            "issued_at": timestamps(issued),
            "expires_at": timestamps(expires),
            "revoked_at": _nullable_timestamps(revoked, rng.random(n) >= 0.12),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("api_tokens"))

    def _integrations(self, chunk: int) -> pa.RecordBatch:
        users = self.user_core(chunk)
        linked = self._integration_mask(chunk, users.index.size)
        owner, provider = np.nonzero(linked)  # row-major: ordered by user, then provider
        n = owner.size
        rng = stream(self.seed, chunk, "integrations.values")
        # ref: Login with Amazon token shapes (Atza| access, Atzr| refresh); Google OAuth (ya29. / 1//)
        access = choose(
            provider,
            [
                lambda r: template_text(rng, r.size, b"Atza|IwEBI", (180, B64URL)),
                lambda r: template_text(rng, r.size, b"ya29.a0", (150, B64URL)),
                lambda r: random_text(rng, r.size, 43, BASE62),
            ],
        )
        refresh = choose(
            provider,
            [
                lambda r: template_text(rng, r.size, b"Atzr|IwEBI", (180, B64URL)),
                lambda r: template_text(rng, r.size, b"1//0", (99, B64URL)),
                lambda r: random_text(rng, r.size, 64, BASE62),
            ],
        )
        created = users.created_s[owner]
        linked_at = created + rng.random(n) * (END_S - created)
        unlinked = linked_at + rng.random(n) * (END_S - linked_at)
        columns = {
            "id": pa.array(self._offsets["integrations"][chunk] + 1 + np.arange(n, dtype=np.int64)),
            "user_id": pa.array(users.ids[owner]),
            "provider": take(pool(PROVIDERS), provider),
            "access_token": access,
            "refresh_token": refresh,
            "linked_at": timestamps(linked_at),
            "unlinked_at": _nullable_timestamps(unlinked, rng.random(n) >= 0.08),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("integrations"))

    def _body_metrics(self) -> pa.RecordBatch:
        user, cohort = self._body_metrics_core()
        n = user.size
        rng = stream(self.seed, 0, "body_metrics.values")
        gender_of = categorical(rng, cohort.size, (0.48, 0.48, 0.04))  # female, male, non-binary
        height_of = np.where(gender_of == 1, rng.normal(177, 7, cohort.size), rng.normal(164, 7, cohort.size))
        weight_of = rng.normal(24.5, 4, cohort.size) * (height_of / 100) ** 2  # BMI times height squared
        pos = np.searchsorted(cohort, user)
        start = np.maximum(self._created_s(cohort), BETA_S)[pos]
        measured = start + rng.random(n) * (END_S - start)
        weight = weight_of[pos] + rng.normal(0, 0.8, n)
        fat = np.clip(rng.normal(np.where(gender_of[pos] == 1, 19, 27), 4, n), 6, 50)
        columns = {
            "id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "user_id": pa.array(user + 1),
            "measured_at": timestamps(measured),
            "height_cm": pa.array(np.round(height_of[pos], 1)),
            "weight_kg": pa.array(np.round(weight, 1)),
            "gender": take(pool(("female", "male", "non-binary")), gender_of[pos]),
            "bone_mass_kg": pa.array(np.round(weight * rng.uniform(0.035, 0.05, n), 2)),
            "protein_pct": pa.array(np.round(rng.normal(18, 1.5, n), 1)),
            "body_fat_pct": pa.array(np.round(fat, 1)),
        }
        return pa.RecordBatch.from_pydict(columns, schema=arrow_schema("body_metrics"))


_JOKE_SSIDS = (
    "FBI Surveillance Van",
    "Pretty Fly for a WiFi",
    "Bill Wi the Science Fi",
    "Abraham Linksys",
    "Wu-Tang LAN",
    "The LAN Before Time",
    "Drop It Like Its Hotspot",
    "Get Off My LAN",
)


@dataclass(frozen=True)
class _Pools:
    """Arrow arrays of every value pool, built once per DeviceCloud."""

    first: pa.Array
    last: pa.Array
    first_lower: pa.Array
    last_lower: pa.Array
    first_initial: pa.Array
    domain_words: pa.Array
    domain_tlds: pa.Array
    person_rooms: pa.Array
    relatives: pa.Array
    relative_rooms: pa.Array
    rooms: pa.Array
    ssid_brands: pa.Array
    jokes: pa.Array
    lan_prefixes: pa.Array
    countries: pa.Array
    regions: pa.Array
    region_tz: pa.Array
    phone_prefixes: pa.Array
    email_domains: pa.Array
    models: pa.Array
    firmwares: pa.Array
    event_kinds: pa.Array
    error_codes: pa.Array

    @classmethod
    def build(cls, regions: list[str], region_tz: list[str], firmwares: list[str]) -> _Pools:
        return cls(
            first=pool(V.FIRST_NAMES),
            last=pool(V.LAST_NAMES),
            first_lower=pool([s.lower() for s in V.FIRST_NAMES]),
            last_lower=pool([s.lower() for s in V.LAST_NAMES]),
            first_initial=pool([s[0].lower() for s in V.FIRST_NAMES]),
            domain_words=pool(V.DOMAIN_WORDS),
            domain_tlds=pool(V.DOMAIN_TLDS),
            person_rooms=pool(V.PERSON_ROOMS),
            relatives=pool(V.RELATIVES),
            relative_rooms=pool(V.RELATIVE_ROOMS),
            rooms=pool(V.ROOMS),
            ssid_brands=pool(V.SSID_BRANDS),
            jokes=pool(_JOKE_SSIDS),
            lan_prefixes=pool(("192.168.0.", "192.168.1.", "192.168.86.", "10.0.0.", "10.0.1.")),
            countries=pool(list(V.COUNTRIES)),
            regions=pool(regions),
            region_tz=pool(region_tz),
            phone_prefixes=pool([c[1] for c in V.COUNTRIES.values()]),
            email_domains=pool(V.EMAIL_DOMAINS),
            models=pool(list(V.MODELS)),
            firmwares=pool(firmwares),
            event_kinds=pool(EVENT_KINDS),
            error_codes=pool(V.ERROR_CODES),
        )


def _tally(users: UserCore, devices: DeviceCore, events: EventCore, firmwares: int) -> dict[str, np.ndarray]:
    """One chunk's counts for the ground truth (definitions in ground_truth.py)."""
    n_models, n_codes = len(V.MODELS), len(V.ERROR_CODES)
    model, firmware = devices.model[events.device], devices.firmware[events.device]
    connect, failure = events.kind == 0, events.kind == 2
    attempt = connect | failure
    return {
        "connects_model": np.bincount(model[connect], minlength=n_models),
        "attempts_model": np.bincount(model[attempt], minlength=n_models),
        "connects_fw": np.bincount(firmware[connect], minlength=firmwares),
        "attempts_fw": np.bincount(firmware[attempt], minlength=firmwares),
        "failures_fw": np.bincount(firmware[failure], minlength=firmwares),
        "failures_code": np.bincount(events.error[failure], minlength=n_codes),
        "devices_per_user": np.bincount(users.devices, minlength=9)[:9],
        "kinds": np.bincount(events.kind, minlength=3),
    }


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainders get the rest)."""
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    rest = total - int(parts.sum())
    if rest:
        parts[np.argsort(-(exact - parts), kind="stable")[:rest]] += 1
    return parts


def _regions() -> tuple[list[str], list[str], np.ndarray]:
    """All ISO 3166-2 regions (US states first), their time zones, and (first, count) per country."""
    regions = list(V.US_STATES)
    tz = [s[1] for s in V.US_STATES.values()]
    spans = [(0, len(regions))]
    for country in list(V.COUNTRIES)[1:]:
        _, _, _, subs, zone = V.COUNTRIES[country]
        spans.append((len(regions), len(subs)))
        regions.extend(subs)
        tz.extend([zone] * len(subs))
    return regions, tz, np.array(spans, dtype=np.int64)


def _firmwares() -> tuple[list[str], np.ndarray]:
    """Every firmware version (models in order, oldest first) and the first index of each model's."""
    out: list[str] = []
    first = []
    for _, versions, _ in V.MODELS.values():
        first.append(len(out))
        out.extend(versions)
    return out, np.array(first, dtype=np.int64)


def _scramble(ids: np.ndarray, multiplier: int, users: int) -> np.ndarray:
    """A bijection of ids onto 0..10^k-1 (multiplier coprime to 10), so derived numbers are unique but
    do not count up with the id."""
    modulus = 10 ** max(4, len(str(users)))
    return (ids * multiplier) % modulus


def _password_hashes(rng: np.random.Generator, n: int) -> pa.Array:
    """Format-valid bcrypt ($2b$, cost 10/12) and Argon2id strings; random, not hashes of anything."""
    kind = categorical(rng, n, (0.56, 0.24, 0.2))  # bcrypt cost 10, bcrypt cost 12, argon2id
    return choose(
        kind,
        [
            lambda r: template_text(rng, r.size, b"$2b$10$", (53, BCRYPT64)),
            lambda r: template_text(rng, r.size, b"$2b$12$", (53, BCRYPT64)),
            lambda r: template_text(
                rng, r.size, b"$argon2id$v=19$m=65536,t=3,p=4$", (22, B64), b"$", (43, B64)
            ),
        ],
    )


def _macs(rng: np.random.Generator, n: int) -> pa.Array:
    """'2C:AA:8E:12:34:56': a camera maker's OUI and three random bytes, written as one byte matrix."""
    ouis = np.frombuffer("".join(V.CAMERA_OUIS).encode(), dtype=np.uint8).reshape(len(V.CAMERA_OUIS), 8)
    pick = categorical(rng, n, (0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05))
    tail = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    colon = np.full((n, 1), ord(":"), dtype=np.uint8)
    parts = [ouis[pick]]
    for i in range(3):
        parts += [colon, hex_pairs(tail[:, i])]
    return fixed_width_strings(np.concatenate(parts, axis=1))


def _rows(values: pa.Array, rows: np.ndarray) -> pa.Array:
    return values.take(pa.array(rows))


def _nullable_timestamps(seconds: np.ndarray, null: np.ndarray) -> pa.Array:
    micros = np.floor(seconds).astype(np.int64) * 1_000_000
    return pa.array(micros, pa.timestamp("us"), mask=null)
