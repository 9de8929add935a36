"""The per-client query-time budget shared by several instances through a real Redis server
(``REMIT_CLIENT_BUDGET_REDIS_URL``, kg.api.shared_budget): two `kg serve` processes on one store and one
Redis started by the test (Debian's redis-server, on a free loopback port, stopped by PID). Clients are told
apart by ``X-Forwarded-For`` (the servers trust 127.0.0.1 as a proxy), as they are behind a real proxy."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from kg.api.shared_budget import SharedClientBudget
from support.servers import redis_server

from .conftest import start_server, stop_server

ASK = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def two_instances(store_dir, tmp_path_factory, redis_url):
    """Two instances on one store, counting one budget in Redis: any query uses all of a client's budget."""
    tmp = tmp_path_factory.mktemp("log")
    env = {"REMIT_CLIENT_BUDGET_SECONDS": "0.000001", "REMIT_CLIENT_BUDGET_REDIS_URL": redis_url,
           "REMIT_TRUSTED_PROXIES": "127.0.0.1", "REMIT_CACHE_MAX_ENTRIES": "0"}
    a = start_server(store_dir, tmp, **env)
    b = start_server(store_dir, tmp, **env)
    yield a, b
    stop_server(a)
    stop_server(b)


def ask(server, client: str, query: str = ASK) -> httpx.Response:
    return httpx.get(server.sparql, params={"query": query}, headers={"X-Forwarded-For": client}, timeout=30)


def test_a_client_charged_on_one_instance_is_refused_on_the_other(two_instances):
    a, b = two_instances
    assert ask(a, "192.0.2.1").status_code == 200
    refused = ask(b, "192.0.2.1")  # its query time was spent on a; b reads the same count
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "query time budget" in refused.text
    # another client has its own budget, on either instance
    assert ask(b, "192.0.2.2").status_code == 200
    assert ask(a, "192.0.2.2").status_code == 429
    assert ask(a, "192.0.2.1").status_code == 429


def test_without_the_shared_counter_each_instance_counts_alone(store_dir, tmp_path_factory):
    """The contrast: the same two instances without Redis let a client spend its budget on each."""
    tmp = tmp_path_factory.mktemp("log")
    env = {"REMIT_CLIENT_BUDGET_SECONDS": "0.000001", "REMIT_TRUSTED_PROXIES": "127.0.0.1",
           "REMIT_CACHE_MAX_ENTRIES": "0"}
    a = start_server(store_dir, tmp, **env)
    b = start_server(store_dir, tmp, **env)
    try:
        assert ask(a, "192.0.2.9").status_code == 200
        assert ask(b, "192.0.2.9").status_code == 200
        assert ask(a, "192.0.2.9").status_code == 429
    finally:
        stop_server(a)
        stop_server(b)


def test_the_window_slides_in_redis(redis_url):
    """The Redis scripts keep the in-process rule: refused while the window's charges reach the budget,
    told when enough leave it, allowed again once they have (a 1 s window, on Redis's clock)."""
    async def scenario() -> None:
        budget = SharedClientBudget(redis_url, budget_seconds=0.5, window=1.0)
        try:
            client = f"window-test-{time.monotonic_ns()}"
            assert await budget.retry_after(client) is None
            await budget.record(client, 0.3)
            assert await budget.retry_after(client) is None  # 0.3 < 0.5
            await budget.record(client, 0.3)  # equal charges are two entries, not one
            assert await budget.retry_after(client) == 1  # 0.6 >= 0.5: wait until the first one leaves
            other = SharedClientBudget(redis_url, budget_seconds=0.5, window=1.0)  # another instance
            try:
                assert await other.retry_after(client) == 1
            finally:
                await other.close()
            await asyncio.sleep(1.1)
            assert await budget.retry_after(client) is None  # both left the window
            for _ in range(4):  # the running total starts again from nothing: 0.4 s, under budget
                await budget.record(client, 0.1)
            assert await budget.retry_after(client) is None
            await budget.record(client, 0.1)  # 0.5 s: at the budget
            assert await budget.retry_after(client) == 1
        finally:
            await budget.close()
    asyncio.run(scenario())


def test_an_unreachable_counter_lets_queries_through_and_says_so(caplog):
    """Fail open: a Redis outage does not refuse every query; it is logged (once a minute)."""
    async def scenario() -> None:
        budget = SharedClientBudget("redis://127.0.0.1:9/0", budget_seconds=0.000001, timeout=0.2)  # discard port
        try:
            await budget.record("c", 1.0)
            assert await budget.retry_after("c") is None
        finally:
            await budget.close()
    with caplog.at_level("WARNING", logger="remit.budget"):
        asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.name == "remit.budget"]
    assert len(warnings) == 1 and "cannot be reached" in warnings[0] and "127.0.0.1:9/0" in warnings[0]


def test_a_bad_redis_url_is_refused_at_start():
    from pydantic import ValidationError

    from kg.settings import Settings
    with pytest.raises(ValidationError, match="client_budget_redis_url"):
        Settings(client_budget_redis_url="http://127.0.0.1:6379")
