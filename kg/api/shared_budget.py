"""The per-client query-time budget counted in a Redis (or Valkey) server that several Remit instances share.

:class:`kg.api.limits.ClientBudget` counts in one process's memory, so behind a proxy that spreads a client
over N instances that client may use N times its budget. With ``REMIT_CLIENT_BUDGET_REDIS_URL`` every
instance counts in the same place instead: one sorted set per client (``remit:budget:<client>``), one member
per charged query (its seconds), scored by the time it was charged, and a running total beside it (so a
check does not sum a busy client's thousands of entries). Both operations are one Lua script, so
they are atomic, and both read Redis's clock (``TIME``), so instances whose clocks differ agree on the window.
The rule is the in-process one: a client may run a query while the seconds it was charged in the last
``window`` seconds are under the budget; refused, it is told when enough of them leave the window.

If Redis cannot be reached the query is allowed (the budget fails open: an outage of the counter does not
take the service down) and a warning is logged, at most once a minute.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Optional

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["SharedClientBudget", "KEY_PREFIX"]

log = logging.getLogger("remit.budget")

#: Every key Remit writes in the shared Redis starts with this (use a database number per deployment).
KEY_PREFIX = "remit:budget:"

# Both scripts: KEYS[1] the client's sorted set (members "<seconds> <tag>", scored by the time charged), KEYS[2]
# the running total of its seconds in the window, so that a check costs the entries that left the window since
# the last one, not a pass over every entry (one busy client charges thousands a minute).
_TRIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
if #gone > 0 then
  for i = 1, #gone do total = total - tonumber(string.match(gone[i], '^(%S+)')) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) == 0 then total = 0 end  -- no rounding drift survives an empty window
  redis.call('SET', KEYS[2], tostring(total))
end
"""

# ARGV: seconds, window, a unique tag.
_RECORD = _TRIM + """
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ' ' .. ARGV[3])
redis.call('INCRBYFLOAT', KEYS[2], ARGV[1])
local ttl = math.ceil(window) + 1
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""

# ARGV: budget, window. Returns -1 (may run) or the seconds to wait.
_RETRY_AFTER = _TRIM + """
local budget = tonumber(ARGV[1])
if total < budget then return -1 end
local items = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
total = 0  -- exact, on the rare refusal path
for i = 1, #items, 2 do total = total + tonumber(string.match(items[i], '^(%S+)')) end
if total < budget then return -1 end
for i = 1, #items, 2 do
  total = total - tonumber(string.match(items[i], '^(%S+)'))
  if total < budget then return math.max(1, math.ceil(tonumber(items[i + 1]) + window - now)) end
end
return math.max(1, math.ceil(window))
"""


class SharedClientBudget:
    """Worker seconds each client may use in any sliding window of ``window`` seconds, counted in the Redis
    server at ``url`` (``redis://host:port/db``, ``rediss://…`` or ``unix:///path?db=N``)."""

    def __init__(self, url: str, budget_seconds: float, window: float = 60.0, timeout: float = 0.5):
        self.url = url
        self.budget = budget_seconds
        self.window = window
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._record = self._redis.register_script(_RECORD)
        self._retry_after = self._redis.register_script(_RETRY_AFTER)
        self._warned_at = -math.inf
        self._count = 0

    @staticmethod
    def _keys(client: str) -> list[str]:
        return [KEY_PREFIX + client, KEY_PREFIX + client + ":total"]

    def _unavailable(self, err: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("the shared client budget (Redis at %s) cannot be reached, so queries are not counted "
                        "against it: %s", self.url.split("@")[-1], err)

    async def retry_after(self, client: str) -> Optional[int]:
        """None if ``client`` may run a query now, else the seconds until enough of its budget frees up."""
        try:
            wait = int(await self._retry_after(keys=self._keys(client), args=[self.budget, self.window]))
        except (RedisError, OSError) as err:
            self._unavailable(err)
            return None
        return None if wait < 0 else wait

    async def record(self, client: str, seconds: float) -> None:
        """Charge ``client`` ``seconds`` of worker time now."""
        self._count += 1
        tag = f"{os.getpid()}.{id(self)}.{self._count}"  # unique per charge, so equal charges are kept apart
        try:
            await self._record(keys=self._keys(client), args=[repr(float(seconds)), self.window, tag])
        except (RedisError, OSError) as err:
            self._unavailable(err)

    async def close(self) -> None:
        await self._redis.aclose()
