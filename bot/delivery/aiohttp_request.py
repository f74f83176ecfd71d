"""PTB's network layer (BaseRequest) on aiohttp, for every Bot API call but getUpdates.

PTB's own HTTPXRequest spends about 0.85 ms of CPU a call (httpx, httpcore's pool);
the same calls on aiohttp take 0.28 ms (py-spy and process time, 3,000 sendMessage
calls, 20 under way, against tests/fake_bot_api_server.py). At a paid broadcast's 1000
messages a second that is most of a core given back; httpcore's pool also rechecks
every connection for every request, so a hundred sends under way cost more each.

Two more costs aiohttp adds to every call are left out: with trust_env it looks the
proxy up and reads ~/.netrc in worker threads, two hand-offs a call; a dict body becomes
a FormData, whose multipart writer draws a uuid4 from os.urandom even for a urlencoded
form. Here the proxy is looked up once per host, and the body is urlencoded as aiohttp
would. A paid broadcast to 20,000 readers took the bot 2.56 ms of CPU a reader before,
1.37 ms after (bench/scale.py, the same run, load 9).
"""

import functools
import re
from urllib.parse import urlencode

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

# As PTB's HTTPXRequest for the bot's calls.
CONNECTION_POOL_SIZE = 256
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
BOT_PATH = re.compile(r"/bot[^/\s]+/")  # as in /bot<token>/sendMessage and /file/bot<token>/


class AiohttpRequest(BaseRequest):
    """Keep-alive connections to the Bot API, up to connection_pool_size at once."""

    def __init__(self, connection_pool_size: int = CONNECTION_POOL_SIZE) -> None:
        self._pool_size = connection_pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # Each call's body is the Bot API's own JSON: no cookies, no redirects.
                cookie_jar=aiohttp.DummyCookieJar(),
                # HTTPS_PROXY and the like are looked up once per host (_proxy_for),
                # not by aiohttp on every call.
                trust_env=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("This AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        read = _seconds(read_timeout, READ_TIMEOUT)
        # aiohttp has no write timeout of its own: a send's whole time is capped instead.
        write = _seconds(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _seconds(connect_timeout, CONNECT_TIMEOUT)
        pool = _seconds(pool_timeout, POOL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        target = URL(url)
        proxy, proxy_auth = _proxy_for(target.scheme, target.host)
        body, headers = _body(request_data)
        try:
            async with self._session.request(
                method,
                target,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        # aiohttp's errors name the URL, which carries the bot's token: they are neither
        # quoted whole nor chained (a traceback would print them).
        except TimeoutError:
            raise TimedOut from None
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp: {_without_token(str(error))}") from None


def _without_token(text: str) -> str:
    return BOT_PATH.sub("/bot<token>/", text)


@functools.cache
def _proxy_for(scheme: str, host: str | None) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy HTTPS_PROXY, NO_PROXY and the like give for a host, as httpx (getUpdates)
    honours them; looked up once, since the environment doesn't change under the bot."""
    try:
        return get_env_proxy_for_url(URL.build(scheme=scheme, host=host or ""))
    except LookupError:
        return None, None


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _body(
    request_data: RequestData | None,
) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None]:
    """The call's parameters as a form, with any files as parts of a multipart one; and
    the headers the body needs."""
    if request_data is None:
        return None, None
    files = request_data.multipart_data
    if not files:
        # The bytes aiohttp makes of a dict, without its FormData on the way.
        return urlencode(request_data.json_parameters, doseq=True).encode(), FORM
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None


def _seconds(value: ODVInput[float], default: float) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _sum(*parts: float | None) -> float | None:
    """A limit made of several: none if any part is unlimited."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)
