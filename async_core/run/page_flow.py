"""What happens to one page of a sync: asked for with its table's credentials (`credentials`, a login when the
source declares one), fetched through the client and checked (`fetch`: the source's response rules, GraphQL
errors, a short or empty page inside its total), made into rows and handed to the bridge with its slot
(`deliver`), or lost (`lose`: a `sync_errors` row, the walk's watermark stays before it). Every error goes to the
ledger, whose verdict may stop the table (`TableStopped`) or the sync (`SyncStopped`).

The engine (`async_core.run.engine`) runs the tables and their walks; the walks' pages (`async_core.run.pages`)
call this. The setup form's connection test fetches through it alone, with no bridge.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from async_core.errors import (
    AuthenticationError,
    CredentialsExpired,
    FatalError,
    RecordError,
    RetryableError,
    RuleStop,
    SyncStopped,
    WaitTooLongError,
)
from async_core.http.client import ApiClient
from async_core.http.exchange import Request, Response
from async_core.http.hints import parse_wait_hint
from async_core.http.responses import check_status
from async_core.http.secret_params import without_params
from async_core.run.bridge import Bridge, Slot
from async_core.run.ledger import (
    ErrorLedger,
    ErrorRecord,
    Verdict,
    page_skipped,
    record_for,
    recovered_after_retry,
)
from async_core.run.messages import Noted, PageLost, Rows
from async_core.run.metrics import Metrics
from async_core.run.page_requests import PageRequests
from async_core.run.page_rows import PageRows, record_id_of
from async_core.run.pages import (
    TableStopped,
    placed,
    shard_filters,
    where,
)
from async_core.run.sessions import AuthSessions
from async_core.run.unread import UnreadCursors
from async_core.run.walk import Fetched, NoProgress, Walk
from async_core.settings import Settings
from async_core.source.auth import ActiveAuth, TokenStore
from async_core.source.graphql import GraphQL
from async_core.source.pagination import PageFacts, PageRequest
from async_core.source.records import records_at
from async_core.source.redact import conceal, strip_credentials
from async_core.source.rules import Rules
from async_core.source.spec import Source, TableSpec

MAX_STALE_RENEWALS = 5  # tokens that expire while a page waits for admission, renewed before the page is given up


class PageFlow:
    """The pages of one sync (see the module docstring). `bridge` is None for the setup test, which only fetches."""

    def __init__(
        self,
        settings: Settings,
        *,
        source: Source,
        base_url: str,
        client: ApiClient,
        bridge: Bridge | None,
        ledger: ErrorLedger,
        metrics: Metrics,
        unread: UnreadCursors | None = None,
        store: TokenStore | None = None,
    ) -> None:
        self._source = source
        self._base_url = base_url
        self._client = client
        self._bridge = bridge
        self._ledger = ledger
        self._metrics = metrics
        self.unread = (
            unread if unread is not None else UnreadCursors()
        )  # cursors that read no value in a table's records
        self.lost_pages: dict[str, int] = {}  # pages given up on, per table
        self._fetched_any: set[str] = set()  # tables that got at least one page
        self._first_errors: dict[str, Exception] = {}  # per table: the error of a first request that failed
        # One session per equal declaration: two tables declaring the same OAuth2 grant share its token, and a
        # rotating refresh token is used by one session only; `store` keeps what it rotates for the next sync.
        self._sessions = AuthSessions(settings.source_values, scope=base_url, store=store)
        for name in settings.tables:  # started now: a missing credential is a configuration error before any fetch
            self._sessions.start(source.auth_for(source.table(name)))
        self._secrets = secret_values(source, settings)  # taken out of every link saved in the state
        self._rules: dict[str, Rules] = {}  # each table's rules, made at its first page (`_rules_for`)
        self._requests = PageRequests(source, base_url)
        self._rows = PageRows(self._rules_for, shard_filters(settings, source), self.unread)

    @property
    def unreachable(self) -> dict[str, Exception]:
        """Tables whose every request failed with an error another attempt cannot fix (a 4xx, an HTML page or an
        error envelope instead of records: a wrong path or base_url), when no table got anything: the sync must
        fail, not pass with 0 records."""
        if self._fetched_any:
            return {}
        return {
            name: error
            for name, error in self._first_errors.items()
            if isinstance(error, FatalError) and (error.status is None or error.status < 500)
        }

    def _rules_for(self, spec: TableSpec) -> Rules:
        """The table's rules (`Source.rules_for`), made once per table: every page asks for them twice."""
        rules = self._rules.get(spec.name)
        if rules is None:
            rules = self._rules[spec.name] = self._source.rules_for(spec)
        return rules

    async def credentials(self, spec: TableSpec) -> tuple[ActiveAuth, Mapping[str, str]]:
        """The table's active auth and the headers it gives (the source's `headers=` are not among them)."""
        auth = self._sessions.start(self._source.auth_for(spec))
        return auth, await auth.headers(self._login)

    async def _login(
        self, path: str, body: Mapping[str, Any], *, form: bool = False, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POSTs a login (JSON) or an OAuth2 token request (a form; its 400 and 401 answers are read, they say
        why). An absolute URL is one the source declares (a token endpoint on the provider's host): trusted as
        the base URL is, its redirects held to its own origin."""
        absolute = "://" in path
        url = path if absolute else f"{self._base_url}{path}"
        request = Request(
            url,
            method="POST",
            json_body=None if form else dict(body),
            form_body={k: str(v) for k, v in body.items()} if form else None,
            credentials=dict(headers or {}),
            home=url if absolute else None,
        )
        judged = frozenset({400, 401}) if form else frozenset()

        def check(response: Response) -> None:
            if response.status != 200 and not (isinstance(response.body, Mapping) and "error" in response.body):
                check_status(response.status, response.headers)  # not an OAuth2 error document: as usual

        response = await self._client.fetch(request, check=check if form else None, judged=judged)
        return response.body

    async def fetch(self, walk: Walk, number: int, request: PageRequest, *, expect: int | None) -> Fetched:
        """One page, checked; raises what the client raises (the caller records the loss)."""
        spec = walk.spec
        url = self._requests.url(walk, number, request)
        body = self._requests.body(walk, number, request)
        parsed: list[Fetched] = []
        rules = self._rules_for(spec)
        secret = dict(self._sessions.start(self._source.auth_for(spec)).secret_params)

        def check(response: Response) -> None:
            parsed.clear()
            rule = rules.response(response.status, response.body)
            if rule is not None:
                hint = parse_wait_hint(response.headers, now=time.time())
                rule.enforce(response.status, hint=hint)  # raises, unless the rule calls the page expected-empty
                parsed.append(Fetched([], PageFacts(last=True), skipped=rule.name))
                return
            check_status(response.status, response.headers)  # a status the rules read, but no rule matched
            if isinstance(spec.body, GraphQL):  # a 200 that says the query failed: never an empty page
                error = spec.body.error(response.body, response.status)
                if error is not None:  # its message is the server's: it may quote the token it was sent
                    auth = self._sessions.start(self._source.auth_for(spec))
                    error.args = (conceal(str(error), (*auth.secrets(), *self._secrets.values())),)
                    raise error
            records = records_at(response.body, spec.records_path)
            facts = walk.paginator.read(response.body, response.headers, response.links, response.url)
            if secret and facts.next is not None and facts.next.url is not None:  # a link that echoes an API key
                facts = dataclasses.replace(
                    facts, next=PageRequest(url=without_params(facts.next.url, secret, values=secret.values()))
                )
            count = len(records)
            if expect is not None and count < expect:
                raise RetryableError(f"page {number} came back with {count} of the {expect} records of its total")
            total = facts.total_items
            if walk.paginator.addressable and total is not None and count == 0 and total > (number - 1) * walk.size:
                raise RetryableError(f"page {number} came back empty inside the total ({facts.total_items})")
            parsed.append(Fetched(records, facts))

        asked_at = dt.datetime.now(dt.UTC)
        renewed, waited = False, 0
        while True:
            auth, signed = await self.credentials(spec)
            credentials = {**self._source.headers, **signed}
            try:
                sent = Request(
                    url,
                    method=spec.http_method,
                    json_body=body,
                    credentials=credentials,
                    parse_float=spec.parse_float,
                    secret_params=auth.secret_params,
                    valid_until=auth.valid_until(),
                )
                response = await self._client.fetch(sent, check=check, judged=rules.statuses)
                break
            except CredentialsExpired:  # not sent: renew and ask again (bounded, in case lifetimes are tiny)
                waited += 1
                if waited > MAX_STALE_RENEWALS:
                    raise
                auth.expire(signed)
            except AuthenticationError:
                if renewed or not auth.refresh_on_401():
                    raise
                renewed = True
                auth.expire(signed)  # the auth's own headers (not merged with `headers=`): log in again, once
        fetched = dataclasses.replace(
            parsed[-1], request=request, served_at=served_at(response.headers, asked_at), size=response.size
        )
        if walk.owner == spec.name:  # not a parent's page read to list a child table's parents
            table = self._metrics.table(spec.name)
            table.pages += 1
            table.records_fetched += len(fetched.records)
        self._fetched_any.add(walk.owner)
        if response.recovered_from:
            self._judge(
                recovered_after_retry(
                    table=spec.name,
                    page=number,
                    attempts=response.attempts,
                    last_error=response.recovered_from,
                    rule=response.recovered_rule,
                )
            )
        if fetched.skipped is not None:
            skip = page_skipped(rule=fetched.skipped, table=spec.name, page=number, status=response.status)
            self._note(placed(skip, where(walk)))
        return fetched

    def deliver(self, walk: Walk, number: int, fetched: Fetched, slot: Slot, *, resume: PageRequest | None) -> None:
        """Transforms a page and hands it to the bridge with its slot."""
        spec = walk.spec
        rows, ops, rejected, skipped, high = self._rows.of(walk, number, fetched.records)
        resume, request = self._saved(spec, resume), self._saved(spec, fetched.request)
        slot.send(
            Rows(
                spec.name,
                number,
                rows,
                rejected,
                unit=walk.unit,
                high=high,
                resume=resume,
                request=request,
                last_key=walk.digest(fetched.records[-1]) if fetched.records else None,
                served_at=fetched.served_at,
                size=fetched.size,
                ops=ops,
            )
        )
        context = where(walk)
        if context is not None:  # a child table's: which parent the rows were of
            rejected = [placed(error, context) for error in rejected]
            skipped = [placed(error, context) for error in skipped]
        for error in skipped:  # LOW: never a stop
            self._note(error)
        if rejected:
            self._metrics.table(spec.name).errors += len(rejected)
            self._judge_all(rejected)

    def _saved(self, spec: TableSpec, request: PageRequest | None) -> PageRequest | None:
        """A request as the state may keep it: a link without its credentials."""
        if request is None or request.url is None:
            return request
        return strip_credentials(
            request,
            names=self._source.secret_params,
            secrets=self._secrets,
            tokens=self._sessions.start(self._source.auth_for(spec)).secrets(),
        )

    def lose(
        self, name: str, unit: str | None, number: int, slot: Slot | None, exc: Exception, *, where: str | None = None
    ) -> None:
        """Records a page that could not be fetched (its walk's watermark stays before it) and judges the error.
        `where`: which parent's walk it was, for a child table (see `where`)."""
        if name not in self._fetched_any:
            self._first_errors.setdefault(name, exc)
        error = placed(record_for(exc, table=name, page=number), where)
        lost = PageLost(name, number, error, unit=unit)
        if slot is None:
            assert self._bridge is not None
            self._bridge.put(lost)
        else:
            slot.send(lost)
        self.lost_pages[name] = self.lost_pages.get(name, 0) + 1
        self._metrics.table(name).errors += 1
        self._judge(error)
        if isinstance(exc, WaitTooLongError | NoProgress | RuleStop):
            raise TableStopped(str(exc)) from exc

    def parent_unreadable(
        self, child: TableSpec, parent: TableSpec, number: int, record: Any, exc: RecordError
    ) -> None:
        """A parent row whose key the child's path needs cannot be read: its child rows cannot be asked for. A
        MEDIUM error of the child table with the parent record, never a silent skip."""
        error = record_for(
            RecordError(f"parent table {parent.name!r}: {exc}; its rows of {child.path} cannot be asked for"),
            table=child.name,
            page=number,
            record_id=record_id_of(parent, record),
            raw_record=record,
        )
        self._metrics.table(child.name).errors += 1
        self._note(error)

    def _note(self, error: ErrorRecord) -> None:
        """An error that cost no page and no row (a skip a rule expected): to the ledger and `sync_errors`."""
        if self._bridge is not None:  # None: the setup test, which only fetches
            self._bridge.put(Noted(error))
        self._judge(error)

    def _judge_all(self, errors: list[ErrorRecord]) -> None:
        """Records every error of a page before acting on the strongest verdict: each one written to
        `sync_errors` is counted, even when a threshold trips in the middle of the page."""
        verdicts = [self._ledger.record(error) for error in errors]
        for stop in (Verdict.STOP_SYNC, Verdict.STOP_TABLE):
            if stop in verdicts:
                self._act(stop, errors[verdicts.index(stop)])
                return

    def _judge(self, error: ErrorRecord) -> None:
        self._act(self._ledger.record(error), error)

    def _act(self, verdict: Verdict, error: ErrorRecord) -> None:
        if verdict is Verdict.STOP_SYNC:
            raise SyncStopped(self._ledger.stop_reason or "sync stopped")
        if verdict is Verdict.STOP_TABLE:
            raise TableStopped(f"table {error.table}: more than {self._ledger.per_table_threshold} errors")


def served_at(headers: Mapping[str, str], sent: dt.datetime) -> dt.datetime:
    """When the server served a response, by its own clock: its `Date` less one second (the header's resolution:
    a row read just before the second turned is no newer than this), or the local time the request was sent."""
    value = headers.get("Date")
    if value:
        moment = _date_header(value)
        if moment is not None:
            return moment
    return sent


@functools.lru_cache(maxsize=16)
def _date_header(value: str) -> dt.datetime | None:
    """A `Date` header's moment less one second, in UTC; None when it does not say one. Cached: the header has a
    resolution of one second, so the responses of a busy second share it (parsing it was 2 % of a request's CPU)."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC) - dt.timedelta(seconds=1)


def secret_values(source: Source, settings: Settings) -> dict[str, str]:
    """The configured secrets of the sync, by configuration key: the source's secret keys and its auths' keys."""
    keys = {key.name for key in source.keys if key.secret}
    for name in settings.tables:
        keys.update(source.auth_for(source.table(name)).config_keys())
    return {key: value for key, value in settings.source_values.items() if key in keys and value}
