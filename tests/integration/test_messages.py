"""Misuse gets one line: every program, given an option it does not know,
prints one line on stderr that starts with its own name (not the path it
was run by, nor a second line from getopt) and exits 100."""
import glob
import os

import pytest

from conftest import ROOT, base_env, prog, run

PROGRAMS = sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, "src", "*", "*.c")))


def one_line(r, name):
    err = r.stderr.decode("latin-1")
    assert r.returncode == 100, (r.returncode, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(name + ": "), err
    return err


@pytest.mark.parametrize("bad", ["-@", "--no-such-option"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_unknown_option_is_one_line(name, bad, tmp_path):
    # run as ./NAME from its directory: the path must not leak into the line
    path = prog(name)
    r = run(["./" + name, bad, "x", "y", "z"], cwd=os.path.dirname(path), env=base_env(),
            stdin=open(os.devnull, "rb"), timeout=10)
    err = one_line(r, name)
    assert "invalid option" not in err and "unrecognized option" not in err, err


def test_program_list_is_complete():
    assert len(PROGRAMS) > 30 and "proxy-server" in PROGRAMS and "s6-clockadd" in PROGRAMS


def test_access_dns_names_itself():
    """s6-tcpserver-access-dns run by hand says its own name, usage included."""
    r = run([prog("s6-tcpserver-access-dns")], env=base_env())
    err = one_line(r, "s6-tcpserver-access-dns")
    assert err.startswith("s6-tcpserver-access-dns: usage: s6-tcpserver-access-dns "), err


def test_access_execs_dns_under_its_own_name():
    """Executed by s6-tcpserver-access (lookups asked for), the resolver
    build keeps the name the user ran."""
    # -r asks for IDENT: s6-tcpserver-access execs the resolver build
    # before looking at its environment, and that build finds PROTO
    # missing; it says so under the name the user ran
    r = run([prog("s6-tcpserver-access"), "-r", "true"], env=base_env())
    assert one_line(r, "s6-tcpserver-access") == \
        "s6-tcpserver-access: fatal: PROTO not set: not run under a UCSPI server\n"
    r = run([prog("s6-tcpserver-access-dns"), "-r", "true"], env=base_env())
    assert one_line(r, "s6-tcpserver-access-dns") == \
        "s6-tcpserver-access-dns: fatal: PROTO not set: not run under a UCSPI server\n"


@pytest.mark.parametrize("name", ["s6-sntpclock", "s6-taiclock"])
def test_clock_client_bad_address_is_fatal(name):
    r = run([prog(name), "localhost"], env=base_env(), timeout=10)
    err = one_line(r, name)
    assert err == name + ": fatal: not an IP address: localhost\n"


@pytest.mark.parametrize("name,args,msg", [
    ("s6-sntpclock", ["-r", "0", "127.0.0.1"], "roundtrips must be at least 1"),
    ("s6-sntpclock", ["-p", "99999", "127.0.0.1"], "invalid port: 99999"),
    ("s6-taiclock", ["-t", "x", "127.0.0.1"], "invalid -t argument: x"),
    ("s6-taiclockd", ["-i", "nowhere"], "not an IP address: nowhere"),
    ("s6-taiclockd", ["-U", "-u", "1"], "-U conflicts with -u and -g"),
    ("s6-clockadd", ["-e", "x"], "invalid -e argument: x"),
])
def test_clock_bad_arguments_are_one_fatal_line(name, args, msg):
    r = run([prog(name)] + args, env=base_env(), stdin=open(os.devnull, "rb"), timeout=10)
    assert one_line(r, name) == "%s: fatal: %s\n" % (name, msg)
