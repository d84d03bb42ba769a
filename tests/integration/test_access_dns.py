"""s6-tcpserver-access with lookups: reverse DNS (dnsmasq on loopback, or
/etc/hosts with -h), reverse-DNS rules, paranoid checks, -t/-w, IDENT."""
import os
import time

import pytest

from conftest import need
from access_util import (Dns, Identd, SilentDns, access, compile_rules, envlines, ucspi_env,
                         write_rules)

RECORDS = [
    "--ptr-record=1.0.0.127.in-addr.arpa,good.example.test",
    "--host-record=good.example.test,127.0.0.1",
    "--ptr-record=2.0.0.127.in-addr.arpa,liar.example.test",
    "--host-record=liar.example.test,127.0.0.99",
    "--ptr-record=3.0.0.127.in-addr.arpa,evil/../../ip4.test",
    "--ptr-record=4.0.0.127.in-addr.arpa,Mixed.Other.TEST",
    "--ptr-record=5.0.0.127.in-addr.arpa,local.example.test",
    "--ptr-record=1." + "0." * 31 + "ip6.arpa,six.example.test",
    "--host-record=six.example.test,::1",
    "--ptr-record=6.0.0.127.in-addr.arpa,noforward.example.test",
]


@pytest.fixture
def dns(procs):
    return Dns(procs, RECORDS)


@pytest.fixture(params=["dir", "cdb"])
def rules(request, tmp_path):
    root = write_rules(str(tmp_path / "rules"), {
        "ip4/127.0.0.9_32": {"allow": True},
        "ip4/127.0.0.8_32": {"deny": True},
        "reversedns/example.test": {"allow": True, "env": {"VIA": "example"}},
        "reversedns/bad.example.test": {"deny": True},
        "reversedns/other.test": {"allow": True, "env": {"VIA": "other"}},
    })
    if request.param == "dir":
        return ["-i", root]
    return ["-x", compile_rules(root, str(tmp_path / "rules.cdb"))]


def test_remote_and_local_host_from_dns(dns):
    r = access(["env"], env=dns.env(ip="127.0.0.1", localip="127.0.0.5"))
    assert r.returncode == 0, r.stderr
    env = envlines(r.stdout)
    assert env["TCPREMOTEHOST"] == "good.example.test"
    assert env["TCPLOCALHOST"] == "local.example.test"
    assert "TCPREMOTEINFO" not in env


def test_l_overrides_local_lookup(dns):
    r = access(["-l", "given", "env"], env=dns.env(ip="127.0.0.1", localip="127.0.0.5"))
    env = envlines(r.stdout)
    assert env["TCPLOCALHOST"] == "given"
    assert env["TCPREMOTEHOST"] == "good.example.test"


def test_no_ptr_leaves_host_unset(dns):
    r = access(["env"], env=dns.env(ip="127.0.0.77", TCPREMOTEHOST="stale"))
    assert r.returncode == 0
    assert "TCPREMOTEHOST" not in envlines(r.stdout)


def test_reversedns_rules_decide_when_ip_rules_do_not(dns, rules):
    r = access(rules + ["env"], env=dns.env(ip="127.0.0.1"))
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["VIA"] == "example"
    # names are matched in lower case
    r = access(rules + ["env"], env=dns.env(ip="127.0.0.4"))
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["VIA"] == "other"
    # no name, no IP rule: denied
    r = access(rules + ["env"], env=dns.env(ip="127.0.0.77"))
    assert r.returncode == 1


def test_ip_rules_first(dns, rules):
    r = access(rules + ["env"], env=dns.env(ip="127.0.0.8"))
    assert r.returncode == 1
    r = access(rules + ["-H", "env"], env=dns.env(ip="127.0.0.9"))
    assert r.returncode == 0


def test_odd_names_from_dns_are_ignored(dns, rules):
    r = access(["-v2"] + rules + ["env"], env=dns.env(ip="127.0.0.3"))
    assert r.returncode == 1                       # never matched, never set
    r = access(["-v2", "env"], env=dns.env(ip="127.0.0.3"))
    assert r.returncode == 0
    assert "TCPREMOTEHOST" not in envlines(r.stdout)
    assert b"invalid remote host name" in r.stderr


def test_ipv6_client(dns, rules):
    r = access(["-p"] + rules + ["env"], env=dns.env(ip="::1", localip="::1"))
    assert r.returncode == 0, r.stderr
    env = envlines(r.stdout)
    assert env["TCPREMOTEHOST"] == "six.example.test"
    assert env["TCPLOCALHOST"] == "six.example.test"
    assert env["VIA"] == "example"


def test_paranoid(dns):
    r = access(["-p", "env"], env=dns.env(ip="127.0.0.1"))
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["TCPREMOTEHOST"] == "good.example.test"
    r = access(["-p", "-v2", "env"], env=dns.env(ip="127.0.0.2"))
    assert r.returncode == 1
    assert b"paranoid" in r.stderr
    # The forward lookup fails (dnsmasq has no upstream: REFUSED): the
    # name cannot be verified, so it is dropped (fatal with -w).
    r = access(["-p", "-v3", "env"], env=dns.env(ip="127.0.0.6"))
    assert r.returncode == 0, r.stderr
    assert "TCPREMOTEHOST" not in envlines(r.stdout)
    assert b"paranoid lookup failed" in r.stderr
    r = access(["-p", "-w", "env"], env=dns.env(ip="127.0.0.6"))
    assert r.returncode == 111
    r = access(["-P", "env"], env=dns.env(ip="127.0.0.2"))
    assert r.returncode == 0
    assert envlines(r.stdout)["TCPREMOTEHOST"] == "liar.example.test"


def test_hosts_file_with_h():
    with open("/etc/hosts") as f:
        names = [l.split()[1:] for l in f if l.split()[:1] == ["127.0.0.1"]]
    assert names, "/etc/hosts has no 127.0.0.1 line"
    silent = SilentDns()
    try:
        # -h: /etc/hosts answers before the (silent) DNS is asked
        r = access(["-h", "-t", "10000", "-l", "x", "env"], env=silent.env(ip="127.0.0.1"))
    finally:
        silent.close()
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["TCPREMOTEHOST"] in names[0]


def test_timeout_with_w_exits_99():
    silent = SilentDns()
    try:
        r = access(["-w", "-t", "300", "env"], env=silent.env(ip="127.0.0.1"))
        assert r.returncode == 99
        r = access(["-W", "-t", "300", "env"], env=silent.env(ip="127.0.0.1"))
        assert r.returncode == 0
        env = envlines(r.stdout)
        assert "TCPREMOTEHOST" not in env and "TCPLOCALHOST" not in env
    finally:
        silent.close()


def test_dns_error_with_w_drops(dns):
    """A reply c-ares cannot use is a resolution error: fatal with -w."""
    r = access(["-w", "env"], env=dns.env(ip="127.0.0.1"))
    assert r.returncode == 0
    # an unusable DNSCACHEIP is an error too
    r = access(["-w", "env"], env=ucspi_env(ip="127.0.0.1", DNSCACHEIP="not an address"))
    assert r.returncode == 111
    r = access(["-W", "env"], env=ucspi_env(ip="127.0.0.1", DNSCACHEIP="not an address"))
    assert r.returncode == 0


# ---- IDENT -------------------------------------------------------------------

def test_ident_sets_remoteinfo():
    def answer(q):
        rp, lp = [x.strip() for x in q.split(",")]
        return "%s , %s : USERID : UNIX : alice" % (rp, lp)
    d = Identd(answer)
    try:
        r = access(["-H", "-r", "-t", "5000", "env"], env=ucspi_env(ip=d.addr, port=40001, localport=2222))
        assert r.returncode == 0, r.stderr
        assert envlines(r.stdout)["TCPREMOTEINFO"] == "alice"
        assert d.queries == ["40001 , 2222"]
        # -R (the default): no query
        r = access(["-H", "-r", "-R", "env"], env=ucspi_env(ip=d.addr, port=40001, localport=2222))
        assert "TCPREMOTEINFO" not in envlines(r.stdout)
        assert len(d.queries) == 1
    finally:
        d.close()


def test_ident_negative_and_missing_server():
    d = Identd(lambda q: "%s : ERROR : NO-USER" % q.replace(" ", ""))
    try:
        r = access(["-H", "-r", "-w", "env"], env=ucspi_env(ip=d.addr))
        assert r.returncode == 0, r.stderr
        assert "TCPREMOTEINFO" not in envlines(r.stdout)
        addr = d.addr
    finally:
        d.close()
    # nobody listening on 113: not an error even with -w
    r = access(["-H", "-r", "-w", "env"], env=ucspi_env(ip=addr))
    assert r.returncode == 0
    assert "TCPREMOTEINFO" not in envlines(r.stdout)


def test_ident_closed_without_answer_is_negative():
    d = Identd(lambda q: None)
    try:
        r = access(["-H", "-r", "-w", "-t", "3000", "env"], env=ucspi_env(ip=d.addr))
        assert r.returncode == 0
        assert "TCPREMOTEINFO" not in envlines(r.stdout)
    finally:
        d.close()


def test_ident_timeout():
    d = Identd(lambda q: time.sleep(1.5))       # answers nothing for a while
    try:
        r = access(["-H", "-r", "-w", "-t", "300", "env"], env=ucspi_env(ip=d.addr))
        assert r.returncode == 99
        r = access(["-H", "-r", "-W", "-t", "300", "env"], env=ucspi_env(ip=d.addr))
        assert r.returncode == 0
        assert "TCPREMOTEINFO" not in envlines(r.stdout)
    finally:
        d.close()
