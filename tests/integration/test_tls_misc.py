"""s6-tlsserver and the TLS engines: the client's SNI in the environment,
-L (timeout, SSL variables from the PROXY header), and what the TLS
programs say when something is wrong."""
import socket
import ssl
import subprocess
import time

import pytest

from conftest import prog, run, need, procs, base_env, read_line  # noqa: F401
from tls_util import certs, server_env, client_env  # noqa: F401


def tlsserver(procs, certs, *opts, app, env=None, **extra):
    e = env or server_env(certs, **extra)
    return procs.server([prog("s6-tlsserver")] + list(opts) + ["-1", "--", "127.0.0.1", "0"] + app,
                        env=e, stderr=subprocess.PIPE)


def s_client(port, *extra, input=b""):
    need("openssl")
    return run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-quiet"] + list(extra),
               input=input, timeout=20)


def stderr_lines(p, want, timeout=10):
    """Read the server's stderr until a line containing want (bounded)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = read_line(p.stderr, max(0.01, deadline - time.monotonic()))
        if line is None:
            break
        seen.append(line)
        if want in line:
            return seen
    return seen


@pytest.mark.parametrize("opts", [(), ("-X",)])
def test_sni_exported_only_if_host_name(procs, certs, opts):
    """SSL_TLS_SNI_SERVERNAME carries the client's SNI only when it is a
    host name; otherwise it is unset, and -v logs one line."""
    app = ["sh", "-c", 'echo "[${SSL_TLS_SNI_SERVERNAME-unset}]"']
    p, port = tlsserver(procs, certs, "-v", *opts, app=app)
    assert s_client(port, "-servername", "Good-Name.example").stdout == b"[Good-Name.example]\n"
    for bad in ("bad_name.example", "x;reboot", "name.with.trailing.", "a..b", "-lead.example"):
        r = s_client(port, "-servername", bad)
        assert r.stdout == b"[unset]\n", (bad, r.stdout)
    lines = stderr_lines(p, "SSL_TLS_SNI_SERVERNAME left unset")
    assert any("s6-tlsd-io" in l and "not a valid host name" in l for l in lines), lines
