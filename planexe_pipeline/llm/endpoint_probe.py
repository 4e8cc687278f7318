"""Whether a model's server on this machine (or its network) answers now: one short GET that
lists its models, never a model call, so it costs nothing and takes at most a second.

A hosted provider is not asked: its address always answers, and only a real call says whether
the key and the model work (`planexe-pipeline check-model` makes one). Any HTTP answer counts:
a server that says 404 to the listing is still up; silence or a refused connection is not.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from planexe_pipeline.errors import ConfigError
from planexe_pipeline.llm.config import ModelEntry

TIMEOUT_S = 1.0
# Where each class's server lists its models, under the entry's address.
ANSWERED, NO_ANSWER, NOT_CHECKED = "answered", "no answer", "not checked"
# A proxy from the environment would answer for a local server that is not running.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class EndpointCheck:
    outcome: str  # ANSWERED, NO_ANSWER or NOT_CHECKED
    why: str  # for NO_ANSWER: what happened and what to do; else what was seen


def is_local(url: str) -> bool:
    """localhost, a loopback or a private address: a server someone here runs, which may be down."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def listing_url(entry: ModelEntry) -> str | None:
    """The URL that lists the models of the entry's server, when that server is a local one."""
    model_class = entry.model_class
    if model_class.listing_path is None:
        return None
    address = entry.arguments.get("api_base") or entry.arguments.get("base_url") or model_class.default_address
    if isinstance(address, str) and "${" in address:
        try:
            resolved = entry.resolved_arguments()
        except ConfigError:
            return None  # the entry is not ready anyway, and says why
        address = resolved.get("api_base") or resolved.get("base_url")
    if not isinstance(address, str) or not address.startswith(("http://", "https://")) or not is_local(address):
        return None
    return address.rstrip("/") + model_class.listing_path


def _get(url: str, timeout_s: float) -> EndpointCheck:
    try:
        with _DIRECT.open(urllib.request.Request(url, method="GET"), timeout=timeout_s) as reply:
            return EndpointCheck(ANSWERED, f"HTTP {reply.status}")
    except urllib.error.HTTPError as exc:  # an answer all the same: the server is up
        return EndpointCheck(ANSWERED, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            said = f"nothing within {timeout_s:g} s"
        else:
            said = getattr(reason, "strerror", None) or str(reason)
        return EndpointCheck(NO_ANSWER, said)


def check_endpoints(entries: list[ModelEntry], timeout_s: float = TIMEOUT_S) -> dict[str, EndpointCheck]:
    """Each entry's check by name; the local servers are asked at once, each address once."""
    urls = {entry.name: listing_url(entry) for entry in entries}
    distinct = sorted({url for url in urls.values() if url})
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(distinct)))) as pool:
        seen = dict(zip(distinct, pool.map(lambda url: _get(url, timeout_s), distinct)))
    return {name: seen[url] if url else EndpointCheck(NOT_CHECKED, "") for name, url in urls.items()}
