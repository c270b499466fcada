"""Fetching: bytes from the network, safely and politely.

Owns the HTTP client (``fetch``: timeouts, size caps, conditional requests, per-host
spacing), the address guard (``netguard``: no private, loopback or link-local hosts,
redirects included) and robots.txt (``robots``). It hands bytes on and decides nothing
about their content.

May import: ``monitor.exceptions``, ``monitor.models``, ``monitor.settings``.
"""
