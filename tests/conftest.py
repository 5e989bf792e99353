"""Shared test fixtures: every test runs with its own user data dir and no internet."""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            raise OSError(f"test guard: connection to unresolved host {host!r} refused") from None
        if not ip.is_loopback:
            raise OSError(f"test guard: connection to non-loopback address {host} refused")


def _guarded_connect(self, address):
    _loopback_only(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _loopback_only(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch, tmp_path):
    """Refuse any socket connection that is not to loopback; isolate the user data dir."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setenv("WEBQA_HOME", str(tmp_path / "webqa-home"))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "WEBQA_MODEL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    yield
