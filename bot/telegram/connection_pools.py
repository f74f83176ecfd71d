"""Bot API requests spread over several small connection pools.

httpcore's pool, each time a request starts or ends, checks every connection (a poll()
call per idle one to see if the server hung up) and, for every idle connection, counts
the idle ones again: the cost of one request grows with the square of the connections
open. A paid broadcast keeps about a hundred requests under way at once; in one pool of
that size this bookkeeping took most of the bot's CPU (about 300 messages a second on
two cores, profiled with py-spy). Pools of a few connections each keep it small while
carrying the same number of requests at once.
"""

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# As many requests at once as PTB's default single pool carries (256).
POOLS = 16
CONNECTIONS_PER_POOL = 16


class SpreadRequest(BaseRequest):
    """Sends each request through the pool with the fewest under way."""

    def __init__(self, pools: int = POOLS, connections_per_pool: int = CONNECTIONS_PER_POOL):
        self._pools = [
            HTTPXRequest(connection_pool_size=connections_per_pool) for _ in range(pools)
        ]
        self._under_way = [0] * pools

    @property
    def read_timeout(self) -> float | None:
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        index = min(range(len(self._pools)), key=self._under_way.__getitem__)
        self._under_way[index] += 1
        try:
            return await self._pools[index].do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        finally:
            self._under_way[index] -= 1
