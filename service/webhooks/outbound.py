"""Calls netweave makes to addresses its users give it (webhook endpoints), guarded against server-side
request forgery.

- **Scheme:** `https` only, unless every address the host resolves to is in the allow list
  (NETWEAVE_WEBHOOK_ALLOW_PRIVATE), which may then use `http`.
- **Addresses:** the host is resolved before each call; if any address it resolves to is loopback,
  private, link-local (cloud metadata services live there), multicast, reserved or otherwise not global,
  the call is refused unless that address is in the allow list. The connection then goes to the address
  that was checked (the request keeps the host's name for `Host` and TLS), so a second lookup cannot
  swap in another address between the check and the connect.
- **No redirects** are followed (a 3xx is a failed call), and each call is capped in time and in the bytes
  read from the answer. The time cap is the whole call's: socket timeouts bound each read alone, so an
  endpoint that drips its answer a byte at a time (each within the read timeout) would hold a delivery
  worker for as long as it liked; at the cap, the connection's socket is shut down under it.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

import urllib3

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_CHARS = 2048
RESOLVE_SECONDS = 5.0
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="netweave-resolve")


class Refused(ValueError):
    """The URL or the address it leads to may not be called."""


def allow_list(setting: str | None) -> tuple[Network, ...]:
    """The networks of a comma-separated list of addresses or networks (a bad entry raises ValueError)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in (setting or "").split(",") if part.strip())


def _plain(address: Address) -> Address:
    """An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4) as that IPv4 address (checked as it)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def literal(host: str) -> Address | None:
    """The address a host names literally, in any form the resolver takes as one (`127.1`, `2130706433`,
    `0x7f000001` are 127.0.0.1), else None."""
    try:
        return _plain(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def allowed(address: Address, allow: Iterable[Network]) -> bool:
    return any(address in network for network in allow)


def public(address: Address) -> bool:
    """Whether the address is a public unicast one (not loopback, private, link-local, metadata,
    multicast, reserved or unspecified)."""
    address = _plain(address)
    if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
        return False            # a tunnel to an IPv4 address the check cannot see through
    return address.is_global and not (address.is_multicast or address.is_reserved)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse(url: str, allow: tuple[Network, ...]) -> Target:
    """The URL's parts once its form is acceptable: http(s), a host, no credentials, no fragment; `http`
    and literal addresses only as the allow list lets them. The host's addresses are checked by `resolve`."""
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"not a URL: {error}") from None
    if parts.scheme not in ("https", "http"):
        raise Refused("an https URL")
    if not parts.hostname:
        raise Refused("a URL with a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("no credentials in the URL (the signature authenticates the call)")
    if parts.fragment:
        raise Refused("no #fragment")
    host = parts.hostname
    named = literal(host)
    if named is not None and not public(named) and not allowed(named, allow):
        raise Refused(f"{host} is a loopback, private, link-local or reserved address; list it in "
                      "NETWEAVE_WEBHOOK_ALLOW_PRIVATE to allow it")
    # http only to listed addresses: a literal one is checked here, a name's addresses by `resolve`.
    if parts.scheme == "http" and (not allow or (named is not None and not allowed(named, allow))):
        raise Refused("an https URL (http only to addresses listed in NETWEAVE_WEBHOOK_ALLOW_PRIVATE)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def resolve(target: Target, allow: tuple[Network, ...]) -> Address:
    """The address to connect to: the host's first address, once every address it resolves to passed
    the rules (any refused address refuses the call, so a name cannot mix a public and a private one)."""
    # getaddrinfo has no timeout of its own: it runs on a small pool, and a lookup that hangs is given up.
    lookup = _RESOLVER.submit(socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=RESOLVE_SECONDS)
    except concurrent.futures.TimeoutError:
        raise Refused(f"{target.host} did not resolve within {RESOLVE_SECONDS:g} s") from None
    except socket.gaierror as error:
        raise Refused(f"{target.host} does not resolve: {error.strerror}") from None
    addresses = [_plain(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos]
    if not addresses:
        raise Refused(f"{target.host} does not resolve")
    for address in addresses:
        if allowed(address, allow):
            continue
        if not public(address):
            raise Refused(f"{target.host} resolves to {address}, a loopback, private, link-local or reserved "
                          "address; list it in NETWEAVE_WEBHOOK_ALLOW_PRIVATE to allow it")
        if target.scheme == "http":
            raise Refused("an https URL (http only to addresses listed in NETWEAVE_WEBHOOK_ALLOW_PRIVATE)")
    return addresses[0]


@dataclass
class Outcome:
    """What one call came to: a status code (None when no answer came), an error, the time it took."""
    status: int | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None


def post(url: str, body: bytes, headers: dict[str, str], *, allow: tuple[Network, ...], timeout: float,
         max_response_bytes: int) -> Outcome:
    """POSTs `body` to `url` under the rules above; never raises for the endpoint's faults."""
    started = time.monotonic()

    def done(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, error, round(time.monotonic() - started, 4))

    try:
        target = parse(url, allow)
        address = resolve(target, allow)
    except Refused as error:
        return done(None, f"refused: {error}")
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" if target.port in (80, 443) else f"[{target.host}]:{target.port}"
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            str(address), target.port, server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", **options)
    else:
        pool = urllib3.HTTPConnectionPool(str(address), target.port, **options)
    deadline = _Deadline(pool, timeout - (time.monotonic() - started))
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, preload_content=False, assert_same_host=False)
        try:
            read = 0
            for chunk in response.stream(16_384, decode_content=False):
                read += len(chunk)
                if read > max_response_bytes:
                    return done(response.status, f"the answer passed {max_response_bytes} bytes")
                if time.monotonic() - started > timeout:
                    return done(response.status, f"the answer took over {timeout:g} s")
        finally:
            response.release_conn()
        deadline.cancel()
        if deadline.passed:         # the shutdown may read as the end of the headers or of the body
            return done(None, f"no whole answer within {timeout:g} s")
        if 300 <= response.status < 400:
            return done(response.status, "redirects are not followed")
        return done(response.status, None)
    except urllib3.exceptions.NewConnectionError as error:     # (urllib3 makes it a timeout error too)
        return done(None, f"cannot connect: {error.__cause__ or error}")
    except urllib3.exceptions.TimeoutError:
        return done(None, f"no answer within {timeout:g} s")
    except (urllib3.exceptions.HTTPError, OSError) as error:
        if deadline.passed:
            return done(None, f"no whole answer within {timeout:g} s")
        return done(None, f"{type(error).__name__}: {error}")
    finally:
        deadline.cancel()
        pool.close()


class _Deadline:
    """Shuts down the sockets a pool opens once `seconds` have passed: whatever read is waiting then fails."""

    def __init__(self, pool: urllib3.HTTPConnectionPool, seconds: float):
        self.passed = False
        self._sockets: list[int] = []          # file descriptors: TLS wraps a socket in a new object
        self._lock = threading.Lock()
        deadline = self

        class Watched(pool.ConnectionCls):      # type: ignore[name-defined, misc]
            def _new_conn(self) -> socket.socket:
                # The TCP socket, before any TLS handshake: a handshake dripped out is cut off too.
                sock = super()._new_conn()
                with deadline._lock:
                    deadline._sockets.append(sock.fileno())
                    if deadline.passed:
                        deadline._shut(sock.fileno())
                return sock

        pool.ConnectionCls = Watched
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(fd: int) -> None:
        # The descriptor stays open (detach): the connection's own object closes it. `cancel` runs before
        # the pool closes, so the descriptor is still the call's.
        try:
            view = socket.socket(fileno=fd)
        except OSError:
            return                              # already closed
        try:
            view.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            view.detach()

    def cancel(self) -> None:
        """No shutdown after this returns (one under way is waited for): the descriptors may then be closed
        and reused."""
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()
