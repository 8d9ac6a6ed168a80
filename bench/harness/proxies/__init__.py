"""The contenders: how each is configured for a scenario and started, one worker each."""

from proxies.base import Proxy
from proxies.caddy import Caddy
from proxies.haproxy import Haproxy
from proxies.nginx import Nginx
from proxies.wasmgate import Wasmgate

__all__ = ["Proxy", "Caddy", "Haproxy", "Nginx", "Wasmgate"]
