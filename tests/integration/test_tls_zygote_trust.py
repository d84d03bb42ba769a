"""The TLS zygote as an attacker sees it: who can reach it, replace it,
kill it or feed it, and what the application may receive. Also the
TLS_UID / TLS_GID rules of every engine."""
import subprocess

from conftest import prog, run, base_env, procs  # noqa: F401
from tls_util import certs, server_env  # noqa: F401


def test_tls_uid_without_tls_gid_is_a_usage_error(certs, tmp_path):  # noqa: F811
    """Without TLS_GID the engine would keep group 0 and root's
    supplementary groups: every engine refuses it before loading keys."""
    env = server_env(certs, TLS_UID="65534")
    for argv in ([prog("s6-tlsserver"), "-1", "127.0.0.1", "0", "true"],
                 [prog("s6-tlsd-io"), "--", "3", "4"],
                 [prog("s6-tlsc-io"), "--", "3", "4"]):
        r = run(argv, env=env, timeout=10)
        assert r.returncode == 100, (argv, r.stderr)
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].endswith("TLS_UID is set but TLS_GID is not"), (argv, lines)
