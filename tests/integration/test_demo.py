"""make demo: every service it announces answers, and Ctrl-C stops all."""
import os
import re
import signal
import subprocess
import time

from conftest import BUILD, ROOT, base_env, connect, free_port, read_line, recv_all


def test_demo_serves_and_stops(procs, tmp_path):
    port = free_port()
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
    urls = re.findall(r"curl (?:--cacert \S+ )?(https?://\S+)", text)
    assert "http://127.0.0.1:%d/" % port in urls
    s = connect("127.0.0.1", port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    body = recv_all(s).decode()
    s.close()
    assert body.startswith("HTTP/1.0 200 OK")
    assert "TCPREMOTEIP=127.0.0.1" in body
    assert "PROTO=TCP" in body
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
