"""s6-tcpclient name resolution through a real DNS server (dnsmasq on
127.0.0.1, a free port, given in DNSCACHEIP=ip:port)."""
import subprocess

import pytest

from conftest import Procs, base_env, prog, run
from tcpclient_util import Dnsmasq, accept_unless_exited, env_of, listener

# Loopback addresses with names; 127.0.0.1 stays anonymous here.
A = "127.77.0.2"           # a.test
LOCAL = "127.77.0.3"       # local.test (used with -i)
REFUSING = "127.77.0.10"   # multi.test, first: nothing listens there
GOOD = "127.77.0.11"       # multi.test, second
DUAL4 = "127.77.0.20"      # dual.test has DUAL4 and ::1

RECORDS = [
    "--host-record=a.test,%s" % A,
    "--host-record=local.test,%s" % LOCAL,
    "--host-record=six.test,::1",
    "--address=/multi.test/%s" % REFUSING,
    "--address=/multi.test/%s" % GOOD,
    "--host-record=dual.test,%s,::1" % DUAL4,
]


@pytest.fixture(scope="module")
def dns():
    procs = Procs()
    try:
        yield Dnsmasq(procs, RECORDS)
    finally:
        procs.cleanup()


def connect_env(dns, args, host, extra_env=None, listen=None, port=None):
    """Run s6-tcpclient [args] host port env -0 against a listener on
    `listen`; returns (returncode, env dict, stderr, peer address)."""
    srv = listener(listen or A, port or 0)
    port = srv.getsockname()[1]
    env = dns.env(**(extra_env or {}))
    p = subprocess.Popen([prog("s6-tcpclient")] + args + [host, str(port), "env", "-0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peer = accept_unless_exited(srv, p)
    out, err = p.communicate(timeout=30)
    srv.close()
    return p.returncode, env_of(out), err, peer


def test_a_record_and_ptr(dns):
    rc, env, err, _ = connect_env(dns, [], "a.test")
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == A
    assert env["TCPREMOTEHOST"] == "a.test"
    # The local address (127.0.0.1) has no PTR here: unset.
    assert "TCPLOCALHOST" not in env


def test_local_ptr(dns):
    rc, env, err, peer = connect_env(dns, ["-i", LOCAL], "a.test")
    assert rc == 0, err
    assert peer[0] == LOCAL
    assert env["TCPLOCALHOST"] == "local.test"
    assert env["TCPREMOTEHOST"] == "a.test"


def test_localname_overrides_ptr(dns):
    rc, env, err, _ = connect_env(dns, ["-i", LOCAL, "-l", "given.name"], "a.test")
    assert rc == 0, err
    assert env["TCPLOCALHOST"] == "given.name"


def test_no_names_with_H(dns):
    rc, env, err, _ = connect_env(dns, ["-H", "-i", LOCAL], "a.test")
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == A
    assert "TCPREMOTEHOST" not in env
    assert "TCPLOCALHOST" not in env


def test_aaaa(dns):
    rc, env, err, _ = connect_env(dns, ["-6"], "six.test", listen="::1")
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == "::1"


def test_aaaa_without_6(dns):
    rc, env, err, _ = connect_env(dns, [], "six.test", listen="::1")
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == "::1"


def test_4_skips_aaaa(dns):
    rc, env, err, _ = connect_env(dns, ["-4"], "six.test", listen="::1")
    assert rc == 111
    assert err == b"s6-tcpclient: fatal: unable to resolve six.test: no address of the requested type\n"


@pytest.mark.parametrize("opts,listen,expect", [
    (["-4"], DUAL4, DUAL4),
    (["-6"], "::1", "::1"),
    ([], DUAL4, DUAL4),     # both families tried: only the IPv4 one answers
    ([], "::1", "::1"),     # ... or only the IPv6 one
])
def test_both_families(dns, opts, listen, expect):
    rc, env, err, _ = connect_env(dns, opts, "dual.test", listen=listen)
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == expect


def test_several_addresses_first_refuses(dns):
    # Both addresses are tried; the one that refuses does not stop us.
    rc, env, err, _ = connect_env(dns, ["-v"], "multi.test", listen=GOOD)
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == GOOD


def test_several_addresses_other_one_refuses(dns):
    rc, env, err, _ = connect_env(dns, [], "multi.test", listen=REFUSING)
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == REFUSING


def test_all_addresses_refuse(dns):
    srv = listener(GOOD)   # only to get a port nobody uses on REFUSING
    port = srv.getsockname()[1]
    srv.close()
    r = run([prog("s6-tcpclient"), "-T", "1+1", "multi.test", str(port), "true"], env=dns.env())
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to connect to multi.test port %d: Connection refused\n" % port


def test_nxdomain(dns):
    r = run([prog("s6-tcpclient"), "nosuch.test", "80", "true"], env=dns.env())
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to resolve nosuch.test: no such domain\n"


def test_no_dns_server_names_the_host():
    r = run([prog("s6-tcpclient"), "a.test", "80", "true"], env=base_env(DNSCACHEIP="127.0.0.1:1"))
    assert r.returncode == 111
    assert r.stderr.startswith(b"s6-tcpclient: fatal: unable to resolve a.test: ")


def test_bad_dnscacheip():
    r = run([prog("s6-tcpclient"), "a.test", "80", "true"], env=base_env(DNSCACHEIP="nonsense"))
    assert r.returncode == 111
    assert b"DNS resolver" in r.stderr


def test_qualify_with_n(dns):
    # LOCALDOMAIN gives the search list; only -n applies it.
    rc, env, err, _ = connect_env(dns, ["-n"], "a", extra_env={"LOCALDOMAIN": "test"})
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == A
    r = run([prog("s6-tcpclient"), "-N", "a", "80", "true"], env=dns.env(LOCALDOMAIN="test"))
    assert r.returncode == 111
    assert r.stderr.startswith(b"s6-tcpclient: fatal: unable to resolve a: ")


def test_hosts_file_with_h(dns):
    # 127.0.0.1 is "localhost" in every /etc/hosts, and unknown to dnsmasq.
    rc, env, err, _ = connect_env(dns, ["-h"], "127.0.0.1", listen="127.0.0.1")
    assert rc == 0, err
    assert env["TCPREMOTEHOST"] == "localhost"
    rc, env, err, _ = connect_env(dns, [], "127.0.0.1", listen="127.0.0.1")
    assert rc == 0, err
    assert "TCPREMOTEHOST" not in env


def test_localhost_resolves(dns):
    rc, env, err, _ = connect_env(dns, ["-4"], "localhost", listen="127.0.0.1")
    assert rc == 0, err
    assert env["TCPREMOTEIP"] == "127.0.0.1"


def test_verbose_reports_each_attempt(dns):
    srv = listener(GOOD)
    port = srv.getsockname()[1]
    srv.close()
    r = run([prog("s6-tcpclient"), "-v", "-T", "1+1", "multi.test", str(port), "true"], env=dns.env())
    assert r.returncode == 111
    lines = r.stderr.decode().splitlines()
    # Two rounds over the two addresses, then the verdict.
    tried = [l for l in lines if l.startswith("s6-tcpclient: warning: unable to connect to ")]
    assert len(tried) == 4
    assert sum(REFUSING in l for l in tried) == 2 and sum(GOOD in l for l in tried) == 2
    assert lines[-1].startswith("s6-tcpclient: fatal: unable to connect to multi.test port")


def test_quiet_changes_nothing_on_success(dns):
    rc, env, err, _ = connect_env(dns, ["-q"], "a.test")
    assert rc == 0
    assert err == b""
