"""make demo: every service it announces answers, and Ctrl-C stops all."""
import os
import re
import signal
import subprocess
import time

from conftest import BUILD, ROOT, base_env, connect, read_line
from util import recv_all


def four_free_ports():
    """The demo uses DEMO_PORT and the next three: pick them below the
    ephemeral range, where outgoing connections cannot take them."""
    import random
    import socket
    for _ in range(50):
        base = random.randrange(20000, 30000)
        socks = []
        try:
            for i in range(4):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no four consecutive free ports")


def test_demo_serves_and_stops(procs, tmp_path):
    port = four_free_ports()
    env = base_env(DEMO_PORT=str(port), DEMO_RUN=str(tmp_path))
    # A shell cannot trap a signal that was ignored when it started (as
    # SIGINT is for background jobs): give the demo a terminal's defaults.
    p = procs.start(["sh", os.path.join(ROOT, "tools/demo.sh"), BUILD], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    while True:
        line = read_line(p.stdout, 30)
        assert line is not None, "demo printed: %r" % lines
        lines.append(line)
        if line.startswith("Logs in"):
            break
    text = "\n".join(lines)
    assert "did not start" not in text, text
    urls = re.findall(r"curl (?:--cacert \S+ )?(https?://\S+)", text)
    assert "http://127.0.0.1:%d/" % port in urls
    s = connect("127.0.0.1", port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    body = recv_all(s).decode()
    s.close()
    assert body.startswith("HTTP/1.0 200 OK")
    assert "TCPREMOTEIP=127.0.0.1" in body
    assert "PROTO=TCP" in body
    # Access control: the rule's environment reaches the handler.
    s = connect("127.0.0.1", port + 1)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert "GREETING=welcome, loopback" in recv_all(s).decode()
    s.close()
    # TLS, verified against the certificate the demo generated.
    import ssl
    cafile = re.search(r"--cacert (\S+)", text).group(1)
    ctx = ssl.create_default_context(cafile=cafile)
    with ctx.wrap_socket(connect("127.0.0.1", port + 2), server_hostname="localhost") as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        body = recv_all(t)
    assert "SSL_PROTOCOL=TLSv1." in body.decode()
    assert "KEYFILE" not in body.decode()
    # PROXY: the address comes from the header.
    s = connect("127.0.0.1", port + 3)
    s.sendall(b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\nGET / HTTP/1.0\r\n\r\n")
    assert "TCPREMOTEIP=203.0.113.7" in recv_all(s).decode()
    s.close()
    # Ctrl-C: the demo and everything it started go away.
    children = subprocess.run(["pgrep", "-g", str(p.pid)], stdout=subprocess.PIPE).stdout.split()
    assert len(children) >= 2
    os.killpg(p.pid, signal.SIGINT)
    p.wait(15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-g", str(p.pid)],
                              stdout=subprocess.PIPE).stdout.split()
        if not left:
            break
        time.sleep(0.05)
    assert not left
