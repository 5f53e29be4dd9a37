"""Prometheus metrics of the proxy, named and labelled as LiteLLM's so its Grafana dashboard reads them.

Names and label sets follow LiteLLM's Prometheus integration
(https://docs.litellm.ai/docs/proxy/prometheus, and its label table in
``litellm/types/integrations/prometheus.py``); metrics LiteLLM has no counterpart for are
called ``vertexlate_*``. The README lists them all.

Why a cache of bound children: ``Counter.labels(...)`` validates and locks on every call
(about 1.5 µs); one request touches about ten series, so the bound child is looked up in a
plain dict keyed by the label tuple instead. The dict is cleared if it ever grows past
:data:`MAX_SERIES` (many virtual keys), which costs a re-bind, never a wrong count.

Multiprocess mode: prometheus_client picks its value class when it is first imported, from
``PROMETHEUS_MULTIPROC_DIR``; ``vertexlate serve --workers N`` sets that variable before the
workers start (see :mod:`engine.proxy.observability.exposition`), and ``/metrics`` then
aggregates every worker's files.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

# LiteLLM's LATENCY_BUCKETS (seconds), so its dashboard's histogram_quantile panels line up.
LATENCY_BUCKETS = (
    0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5,
    6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0, 240.0,
    300.0, float("inf"),
)  # fmt: skip
MAX_SERIES = 50_000
PROVIDER = "vertex_ai"  # LiteLLM's api_provider label value for Vertex AI deployments

# LiteLLM's label sets (UserAPIKeyLabelNames); team_alias stays empty here, end_user too unless the
# config switches it on (enable_end_user_cost_tracking_prometheus_only, as LiteLLM; see README).
KEY = ("end_user", "hashed_api_key", "api_key_alias", "team", "team_alias", "user")
DEPLOYMENT = ("litellm_model_name", "model_id", "api_base", "api_provider")
EXCEPTION = ("exception_status", "exception_class")


def _caller_labels(caller: Any, end_user: str = "") -> tuple[str, ...]:
    if caller is None:
        return (end_user, "", "", "", "", "")
    return (end_user, caller.token or "", caller.alias or "", caller.team_id or "", "", caller.user_id or "")


def _api_base(deployment: Any) -> str:
    """Scheme and host of the deployment's ``api_base`` (never a path, query or user part), or ""."""
    base = (getattr(deployment, "options", None) or {}).get("api_base")
    if not isinstance(base, str) or not base:
        return ""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


_DEPLOYMENT_LABELS: dict[int, tuple[Any, tuple[str, ...]]] = {}


def _deployment_labels(deployment: Any) -> tuple[str, ...]:
    """The deployment's four labels, computed once per deployment object."""
    if deployment is None:
        return ("", "", "", "")
    known = _DEPLOYMENT_LABELS.get(id(deployment))
    if known is None or known[0] is not deployment:
        labels = (deployment.model, deployment.id, _api_base(deployment), PROVIDER)
        known = _DEPLOYMENT_LABELS[id(deployment)] = (deployment, labels)
    return known[1]


class Series:
    """The bound children one (key, model group, deployment) touches on every success: one lookup per request."""

    __slots__ = (
        "ok",
        "latency",
        "requests",
        "input",
        "output",
        "total",
        "spend",
        "llm",
        "ttft",
        "attempts",
        "successes",
    )

    def __init__(self, m: Metrics, key: tuple[str, ...], group: str, deployment: Any) -> None:
        model = deployment.model
        dep = _deployment_labels(deployment)
        tail = (key[1], key[2], key[3], key[4])
        upstream = (model, *tail, group, key[0], key[5])
        self.ok = m.total_requests.labels(*key, group, "200")
        self.latency = m.total_latency.labels(*key, group, model)
        self.requests = m.requests.labels(*key, model)
        self.input = m.input_tokens.labels(*key, model, group)
        self.output = m.output_tokens.labels(*key, model, group)
        self.total = m.total_tokens.labels(*key, model, group)
        self.spend = m.spend.labels(*key, model)
        self.llm = m.llm_latency.labels(*upstream)
        self.ttft = m.ttft.labels(*upstream)
        self.attempts = m.deployment_total.labels(group, *dep, *tail)
        self.successes = m.deployment_success.labels(group, *dep, *tail)


class NullMetrics:
    """Metrics switched off: every hook is a no-op (what the hot path pays is one method call)."""

    enabled = False

    def request_finished(self, *args: Any, **kwargs: Any) -> None: ...
    def attempt(self, *args: Any, **kwargs: Any) -> None: ...
    def first_token(self, *args: Any, **kwargs: Any) -> None: ...
    def cooled_down(self, *args: Any, **kwargs: Any) -> None: ...
    def retry(self, *args: Any, **kwargs: Any) -> None: ...
    def fallback(self, *args: Any, **kwargs: Any) -> None: ...
    def cache_hit(self, *args: Any, **kwargs: Any) -> None: ...
    def cache_miss(self, *args: Any, **kwargs: Any) -> None: ...
    def redis_failure(self, *args: Any, **kwargs: Any) -> None: ...
    def db_failure(self, *args: Any, **kwargs: Any) -> None: ...
    def watch_budgets(self, *args: Any, **kwargs: Any) -> None: ...


# LiteLLM's labels of its upstream latency histograms (litellm/types/integrations/prometheus.py)
UPSTREAM_LABELS = (
    "model",
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
    "requested_model",
    "end_user",
    "user",
)


class Metrics(NullMetrics):
    """The proxy's metric families in one registry; the hooks below are what the request path calls."""

    enabled = True

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Any:
            return Counter(name, doc, labels, registry=r)

        def histogram(name: str, doc: str, labels: tuple[str, ...]) -> Any:
            return Histogram(name, doc, labels, registry=r, buckets=LATENCY_BUCKETS)

        # proxy level: what clients saw
        self.total_requests = counter(
            "litellm_proxy_total_requests_metric",
            "Requests made to the proxy, by key, requested model and HTTP status",
            (*KEY, "requested_model", "status_code"),
        )
        self.failed_requests = counter(
            "litellm_proxy_failed_requests_metric",
            "Requests the proxy answered with an error",
            (*KEY, "requested_model", *EXCEPTION),
        )
        self.total_latency = histogram(
            "litellm_request_total_latency_metric",
            "Seconds from a request's arrival to its reply's end (streams: the last chunk)",
            (*KEY, "requested_model", "model"),
        )
        self.requests = counter(
            "litellm_requests_metric", "Successful requests, by key and model", (*KEY, "model")
        )
        self.input_tokens = counter(
            "litellm_input_tokens_metric", "Input (prompt) tokens", (*KEY, "model", "requested_model")
        )
        self.output_tokens = counter(
            "litellm_output_tokens_metric",
            "Output (completion) tokens",
            (*KEY, "model", "requested_model"),
        )
        self.total_tokens = counter(
            "litellm_total_tokens_metric",
            "Input + output tokens",
            (*KEY, "model", "requested_model"),
        )
        self.spend = counter("litellm_spend_metric", "Cost in USD (the specs' prices)", (*KEY, "model"))
        # upstream level: each attempt on a deployment
        self.llm_latency = histogram(
            "litellm_llm_api_latency_metric",
            "Seconds one upstream call took (to the reply, or to the stream's start)",
            UPSTREAM_LABELS,
        )
        self.ttft = histogram(
            "litellm_llm_api_time_to_first_token_metric",
            "Seconds from the upstream call's start to the first streamed chunk",
            UPSTREAM_LABELS,
        )
        tail = ("hashed_api_key", "api_key_alias", "team", "team_alias")
        self.deployment_total = counter(
            "litellm_deployment_total_requests",
            "Upstream calls per deployment",
            ("requested_model", *DEPLOYMENT, *tail),
        )
        self.deployment_success = counter(
            "litellm_deployment_success_responses",
            "Successful upstream calls per deployment",
            ("requested_model", *DEPLOYMENT, *tail),
        )
        self.deployment_failure = counter(
            "litellm_deployment_failure_responses",
            "Failed upstream calls per deployment",
            ("requested_model", *DEPLOYMENT, *tail, *EXCEPTION),
        )
        self.cooldowns = counter(
            "litellm_deployment_cooled_down",
            "Times a deployment was cooled down by the router",
            (*DEPLOYMENT, "exception_status"),
        )
        fallback_labels = ("requested_model", "fallback_model", *tail, *EXCEPTION)
        self.fallback_ok = counter(
            "litellm_deployment_successful_fallbacks",
            "Fallbacks to another model group that answered",
            fallback_labels,
        )
        self.fallback_failed = counter(
            "litellm_deployment_failed_fallbacks",
            "Fallbacks to another model group that failed too",
            fallback_labels,
        )
        self.retries = counter(
            "vertexlate_upstream_retries",
            "Retries by the router (num_retries) after a failed upstream call",
            ("requested_model",),
        )
        self.cache_hits = counter(
            "litellm_cache_hits_metric",
            "Requests answered from the response cache",
            ("model", "hashed_api_key", "api_key_alias"),
        )
        self.cache_misses = counter(
            "litellm_cache_misses_metric",
            "Cacheable requests not found in the cache",
            ("model", "hashed_api_key", "api_key_alias"),
        )
        # LiteLLM's service metrics (litellm_<service>_failed_requests, labels error_class, function_name)
        self.redis_failures = counter(
            "litellm_redis_failed_requests",
            "Redis operations that failed (served on local state)",
            ("error_class", "function_name"),
        )
        self.db_failures = counter(
            "litellm_postgres_failed_requests",
            "Database operations that failed (PostgreSQL or SQLite; spend rows are kept and retried)",
            ("error_class", "function_name"),
        )
        self._bound: dict[tuple[Any, ...], Any] = {}
        self._series: dict[tuple[Any, ...], Series] = {}
        self.budgets: BudgetGauges | None = None  # registered once the store is open (watch_budgets)

    def _of(self, caller: Any, group: str, deployment: Any, end_user: str = "") -> Series:
        token = (caller.token, caller.alias, caller.team_id, caller.user_id) if caller is not None else None
        key = (token, group, deployment.id, id(deployment), end_user)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= MAX_SERIES:
                self._series.clear()
            series = self._series[key] = Series(self, _caller_labels(caller, end_user), group, deployment)
        return series

    def _child(self, metric: Any, labels: tuple[str, ...]) -> Any:
        key = (id(metric), labels)
        child = self._bound.get(key)
        if child is None:
            if len(self._bound) >= MAX_SERIES:
                self._bound.clear()
            child = self._bound[key] = metric.labels(*labels)
        return child

    # ------------------------------------------------------------------ hooks of the request path
    def request_finished(
        self,
        caller: Any,
        requested: str | None,
        deployment: Any,
        status: int,
        error: Any,
        seconds: float,
        usage: Any = None,
        cost: float | None = None,
        end_user: str = "",
    ) -> None:
        """One request answered (a stream: ended): status, latency, and for successes tokens and cost."""
        group = requested or ""
        if status != 200 or error is not None or deployment is None:
            self._unusual(caller, group, deployment, status, error, seconds, end_user)
            return
        series = self._of(caller, group, deployment, end_user)
        series.ok.inc()
        series.latency.observe(seconds)
        series.requests.inc()
        if isinstance(usage, dict):
            prompt = usage.get("prompt_tokens") or 0
            completion = usage.get("completion_tokens") or 0
            total = usage.get("total_tokens") or (prompt + completion)
            if prompt:
                series.input.inc(prompt)
            if completion:
                series.output.inc(completion)
            if total:
                series.total.inc(total)
        if cost:
            series.spend.inc(cost)

    def _unusual(
        self,
        caller: Any,
        group: str,
        deployment: Any,
        status: int,
        error: Any,
        seconds: float,
        end_user: str = "",
    ) -> None:
        """An error reply (or a stream that ended with one), or a success without a deployment."""
        key = _caller_labels(caller, end_user)
        model = deployment.model if deployment is not None else ""
        self._child(self.total_requests, (*key, group, str(status))).inc()
        self._child(self.total_latency, (*key, group, model)).observe(seconds)
        if error is not None or status >= 400:
            kind = type(error).__name__ if error is not None else "HTTPError"
            self._child(self.failed_requests, (*key, group, str(status), kind)).inc()

    def attempt(
        self,
        caller: Any,
        requested: str,
        deployment: Any,
        seconds: float,
        error: Any = None,
        end_user: str = "",
    ) -> None:
        """One upstream call on ``deployment`` ended (``error``: how it failed)."""
        series = self._of(caller, requested, deployment, end_user)
        series.attempts.inc()
        if error is None:
            series.successes.inc()
            series.llm.observe(seconds)
            return
        key = _caller_labels(caller)
        tail = (key[1], key[2], key[3], key[4])
        status = str(getattr(error, "status_code", 500))
        failure = (requested, *_deployment_labels(deployment), *tail, status, type(error).__name__)
        self._child(self.deployment_failure, failure).inc()

    def first_token(
        self, caller: Any, requested: str, deployment: Any, seconds: float, end_user: str = ""
    ) -> None:
        self._of(caller, requested, deployment, end_user).ttft.observe(seconds)

    def cooled_down(self, deployment: Any, error: Any) -> None:
        status = str(getattr(error, "status_code", ""))
        self._child(self.cooldowns, (*_deployment_labels(deployment), status)).inc()

    def retry(self, requested: str) -> None:
        self._child(self.retries, (requested,)).inc()

    def fallback(self, caller: Any, requested: str, fallback: str, error: Any, ok: bool) -> None:
        key = _caller_labels(caller)
        status = str(getattr(error, "status_code", ""))
        labels = (requested, fallback, key[1], key[2], key[3], key[4], status, type(error).__name__)
        self._child(self.fallback_ok if ok else self.fallback_failed, labels).inc()

    # ------------------------------------------------------------------ hooks for the cache and Redis
    def cache_hit(self, model_group: str, caller: Any = None) -> None:
        """The response cache answered a request of ``model_group`` (called by the cache)."""
        key = _caller_labels(caller)
        self._child(self.cache_hits, (model_group, key[1], key[2])).inc()

    def cache_miss(self, model_group: str, caller: Any = None) -> None:
        """A cacheable request of ``model_group`` was not in the cache."""
        key = _caller_labels(caller)
        self._child(self.cache_misses, (model_group, key[1], key[2])).inc()

    def redis_failure(self, operation: str, error: BaseException | None = None) -> None:
        """A Redis operation failed and the proxy fell back to local state (called by the Redis layer)."""
        self._child(self.redis_failures, (type(error).__name__ if error else "", operation)).inc()

    def db_failure(self, operation: str, error: BaseException | None = None) -> None:
        """A database operation failed (the spend writer keeps its rows and retries)."""
        self._child(self.db_failures, (type(error).__name__ if error else "", operation)).inc()

    def watch_budgets(self, budgets: Callable[[], Iterable[Any]]) -> None:
        """Export the budget gauges of ``budgets()`` (the store's in-memory key and team budgets)."""
        if self.budgets is None:
            self.budgets = BudgetGauges(budgets)
            self.registry.register(self.budgets)
        else:
            self.budgets.source = budgets


# LiteLLM's budget gauges and their labels (https://docs.litellm.ai/docs/proxy/prometheus, "Team - Budget"
# and "Virtual Key - Budget"; PrometheusMetricLabels in litellm/types/integrations/prometheus.py).
BUDGET_GAUGES = {
    "team": (
        ("team", "team_alias"),
        "litellm_remaining_team_budget_metric",
        "litellm_team_max_budget_metric",
        "litellm_team_budget_remaining_hours_metric",
    ),
    "key": (
        ("hashed_api_key", "api_key_alias"),
        "litellm_remaining_api_key_budget_metric",
        "litellm_api_key_max_budget_metric",
        "litellm_api_key_budget_remaining_hours_metric",
    ),
}


class BudgetGauges:
    """The remaining / max budget and the hours to its reset of every key and team this process knows.

    Why a collector read at scrape time rather than gauges set per request: the figures live in
    the store's :class:`~engine.proxy.store.accounts.Budget` objects (spend counted the moment a
    reply is priced, every process's spend when Redis is shared), so a scrape reads them as they
    are and the request path pays nothing. A key or team appears once a request has used it (as
    in LiteLLM without ``prometheus_initialize_budget_metrics``); no max budget is a remaining +Inf,
    as LiteLLM reports it.
    """

    def __init__(self, source: Callable[[], Iterable[Any]], clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.clock = clock

    def describe(self) -> list[Any]:
        return []  # no fixed families to check at registration (the registry has auto_describe off)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        families = {}
        for kind, (labels, remaining, maximum, hours) in BUDGET_GAUGES.items():
            families[kind] = (
                GaugeMetricFamily(remaining, f"Remaining budget of the {kind} (USD)", labels=labels),
                GaugeMetricFamily(maximum, f"Max budget of the {kind} (USD)", labels=labels),
                GaugeMetricFamily(hours, f"Hours until the {kind}'s budget resets", labels=labels),
            )
        now = self.clock()
        for budget in self.source():
            found = families.get(budget.kind)
            if found is None:
                continue  # user budgets: LiteLLM has no gauge for them
            labels = [budget.ident, budget.alias or ""]
            remaining, maximum, hours = found
            limit = budget.max_budget
            remaining.add_metric(labels, math.inf if limit is None else float(limit) - budget.spend)
            if limit is not None:
                maximum.add_metric(labels, float(limit))
            if budget.reset_at is not None:
                hours.add_metric(labels, max(0.0, (float(budget.reset_at) - now) / 3600.0))
        for group in families.values():
            yield from group
