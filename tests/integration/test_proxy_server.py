"""proxy-server driven directly: headers fed on a socket or a pipe, split
at every byte, hostile input, options, timeouts."""
import socket
import subprocess
import time

import pytest

from conftest import base_env, prog, run
from proxy_util import SIG, Fed, inet4, inet6, parse_dump, run_fed, tlv, unix, v2
from util import recv_all

APP = b"\r\n\r\n\x00 first application bytes, v2-signature look-alike included\n"

SSL = (b"\x05\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"client.example")
       + tlv(0x23, b"TLS_AES_128_GCM_SHA256") + tlv(0x24, b"SHA256") + tlv(0x25, b"EC256"))
FULL_TLVS = (tlv(0x01, b"h2") + tlv(0x02, b"www.example.org") + tlv(0x05, b"req-0001")
             + tlv(0x20, SSL) + tlv(0x30, b"netns-blue") + tlv(0x04, b"")
             + tlv(0xE0, b"\x01\xab") + tlv(0xEF, b"text"))


@pytest.mark.parametrize("kind", ["socket", "pipe"])
@pytest.mark.parametrize("step", [None, 1, 5])
def test_v1_tcp4_split_anywhere(procs, kind, step):
    """The header may arrive in any pieces; the application's bytes that
    follow it reach the program intact."""
    h = b"PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n"
    rc, out, err = run_fed(procs, [], h, kind=kind, step=step, app=APP)
    assert rc == 0, err
    env, data = parse_dump(out)
    assert data == APP
    assert env["PROTO"] == "TCP"
    assert env["TCPREMOTEIP"] == "192.0.2.1"
    assert env["TCPREMOTEPORT"] == "51000"
    assert env["TCPLOCALIP"] == "198.51.100.7"
    assert env["TCPLOCALPORT"] == "443"
    assert err == b""


@pytest.mark.parametrize("kind", ["socket", "pipe"])
@pytest.mark.parametrize("step", [None, 1, 7])
def test_v2_every_tlv_split_anywhere(procs, kind, step):
    h = v2(1, 0x21, inet6("2001:db8::1", "2001:db8::2:1", 40000, 8443), FULL_TLVS, crc=True)
    rc, out, err = run_fed(procs, [], h, kind=kind, step=step, app=APP)
    assert rc == 0, err
    env, data = parse_dump(out)
    assert data == APP
    assert env["PROTO"] == "TCP"
    assert env["TCPREMOTEIP"] == "2001:db8::1"
    assert env["TCPLOCALIP"] == "2001:db8::2:1"
    assert env["TCPREMOTEPORT"] == "40000"
    assert env["TCPLOCALPORT"] == "8443"
    assert env["SSL_PROTOCOL"] == "TLSv1.3"
    assert env["SSL_CIPHER"] == "TLS_AES_128_GCM_SHA256"
    assert env["SSL_PEER_CERT_CN"] == "client.example"
    assert env["SSL_TLS_SNI_SERVERNAME"] == "www.example.org"
    assert env["PROXY_ALPN"] == "h2"
    assert env["PROXY_UNIQUE_ID"] == "req-0001"
    assert env["PROXY_NETNS"] == "netns-blue"
    assert env["PROXY_SSL_SIG_ALG"] == "SHA256"
    assert env["PROXY_SSL_KEY_ALG"] == "EC256"
    assert env["PROXY_SSL_CLIENT"] == "5"
    assert env["PROXY_SSL_VERIFY"] == "0"
    assert env["PROXY_TLV_E0"] == "01ab"
    assert env["PROXY_TLV_EF"] == "74657874"


def test_v4_mapped_shown_as_ipv4(procs):
    h = v2(1, 0x21, inet6("::ffff:10.1.2.3", "::ffff:10.9.9.9", 1, 2))
    rc, out, err = run_fed(procs, [], h)
    env, _ = parse_dump(out)
    assert (env["TCPREMOTEIP"], env["TCPLOCALIP"]) == ("10.1.2.3", "10.9.9.9")


def test_v2_unix_sets_ipc(procs):
    h = v2(1, 0x31, unix(b"/run/client.sock", b"/run/server.sock"))
    env0 = base_env(TCPREMOTEIP="203.0.113.5")
    rc, out, err = run_fed(procs, [], h, app=b"x", env=env0)
    assert rc == 0, err
    env, data = parse_dump(out)
    assert env["PROTO"] == "IPC"
    assert env["IPCREMOTEPATH"] == "/run/client.sock"
    assert env["IPCLOCALPATH"] == "/run/server.sock"
    assert env["TCPREMOTEIP"] == "203.0.113.5"  # never deletes
    assert data == b"x"


@pytest.mark.parametrize("opt", ["-u", "--udp"])
@pytest.mark.parametrize("fam,addr,src", [
    (0x12, inet4("192.0.2.7", "192.0.2.8", 5353, 53), "192.0.2.7"),
    (0x22, inet6("2001:db8::7", "2001:db8::8", 5353, 53), "2001:db8::7"),
], ids=["udp4", "udp6"])
def test_v2_dgram_sets_udp_with_u(procs, opt, fam, addr, src):
    """The UDP export is an extension: with -u a DGRAM header is taken
    and named as UCSPI names UDP."""
    h = v2(1, fam, addr)
    rc, out, err = run_fed(procs, [opt], h, app=b"u")
    assert rc == 0, err
    env, data = parse_dump(out)
    assert env["PROTO"] == "UDP"
    assert env["UDPREMOTEIP"] == src
    assert env["UDPREMOTEPORT"] == "5353"
    assert env["UDPLOCALPORT"] == "53"
    assert "TCPREMOTEIP" not in env
    assert data == b"u"


@pytest.mark.parametrize("fam,addr", [
    (0x12, inet4("192.0.2.7", "192.0.2.8", 5353, 53)),
    (0x22, inet6("2001:db8::7", "2001:db8::8", 5353, 53)),
], ids=["udp4", "udp6"])
@pytest.mark.parametrize("args", [[], ["-2"], ["-v", "2"]])
def test_v2_dgram_exits_2_by_default(procs, tmp_path, fam, addr, args):
    """As the reference: a PROXY header for a UDP client is unsupported
    (exit 2) and the program is never run."""
    marker = tmp_path / "ran"
    rc, out, err = run_fed(procs, args, v2(1, fam, addr), app=b"must not reach",
                           prog_args=["sh", "-c", 'echo ran > "$0"', str(marker)])
    assert rc == 2
    assert out == b""
    assert not marker.exists()
    assert err == b"proxy-server: fatal: unsupported PROXY header: PROXY v2 header for a UDP (DGRAM) connection\n"


def test_v2_local_dgram_keeps_endpoints_without_u(procs):
    """LOCAL over DGRAM says nothing of a UDP client: accepted as any LOCAL."""
    env0 = base_env(PROTO="TCP", TCPREMOTEIP="127.0.0.9")
    rc, out, err = run_fed(procs, [], v2(0, 0x12, inet4("192.0.2.7", "192.0.2.8", 1, 2)), app=b"l", env=env0)
    assert rc == 0, err
    env, data = parse_dump(out)
    assert env["PROTO"] == "TCP" and env["TCPREMOTEIP"] == "127.0.0.9"
    assert "UDPREMOTEIP" not in env and data == b"l"


SSL_SUBS = (tlv(0x21, b"TLSv1.2") + tlv(0x22, b"cn.example") + tlv(0x23, b"ECDHE-RSA-AES128-GCM-SHA256")
            + tlv(0x24, b"SHA256") + tlv(0x25, b"RSA2048"))
SSL_VARS = ["SSL_PROTOCOL", "SSL_CIPHER", "SSL_PEER_CERT_CN", "PROXY_SSL_SIG_ALG", "PROXY_SSL_KEY_ALG",
            "PROXY_SSL_CLIENT", "PROXY_SSL_VERIFY"]


@pytest.mark.parametrize("client", [0x00, 0x02, 0x04, 0x06])
def test_ssl_tlv_without_ssl_bit_sets_nothing(procs, client):
    """The SSL field's sub-fields describe the client's TLS session only
    when its client byte has the 0x01 bit: without it (a plain-TCP client
    of the proxy), no SSL_* or PROXY_SSL_* variable is set from them, and
    the ones already there are left alone."""
    ssl = bytes([client]) + b"\0\0\0\0" + SSL_SUBS
    h = v2(1, 0x11, inet4("192.0.2.1", "192.0.2.2", 1000, 443), tlv(0x20, ssl) + tlv(0x02, b"sni.example"))
    env0 = base_env(SSL_PROTOCOL="TLSv1.3-hop")
    rc, out, err = run_fed(procs, [], h, app=b"s", env=env0)
    assert rc == 0, err
    env, _ = parse_dump(out)
    assert env["SSL_PROTOCOL"] == "TLSv1.3-hop"
    for k in SSL_VARS[1:]:
        assert k not in env, k
    assert env["SSL_TLS_SNI_SERVERNAME"] == "sni.example"  # AUTHORITY is no SSL sub-field
    assert env["TCPREMOTEIP"] == "192.0.2.1"


@pytest.mark.parametrize("client", [0x01, 0x03, 0x07])
def test_ssl_tlv_with_ssl_bit_sets_all(procs, client):
    ssl = bytes([client]) + b"\0\0\0\x02" + SSL_SUBS
    h = v2(1, 0x11, inet4("192.0.2.1", "192.0.2.2", 1000, 443), tlv(0x20, ssl))
    rc, out, err = run_fed(procs, [], h, app=b"s")
    assert rc == 0, err
    env, _ = parse_dump(out)
    assert env["SSL_PROTOCOL"] == "TLSv1.2"
    assert env["SSL_CIPHER"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert env["SSL_PEER_CERT_CN"] == "cn.example"
    assert env["PROXY_SSL_SIG_ALG"] == "SHA256"
    assert env["PROXY_SSL_KEY_ALG"] == "RSA2048"
    assert env["PROXY_SSL_CLIENT"] == str(client)
    assert env["PROXY_SSL_VERIFY"] == "2"


@pytest.mark.parametrize("header", [
    v2(0, 0x11, inet4("192.0.2.1", "192.0.2.2", 1, 2)),          # LOCAL with an address block
    v2(0, 0x00),                                                 # LOCAL, health check
    v2(1, 0x00, b"", tlv(0x04, b"")),                            # PROXY UNSPEC
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
], ids=["local-addr", "local-empty", "unspec", "unknown", "unknown-junk"])
def test_real_endpoints_kept(procs, header):
    env0 = base_env(PROTO="TCP", TCPREMOTEIP="127.0.0.9", TCPREMOTEPORT="7777")
    rc, out, err = run_fed(procs, [], header, app=APP, env=env0)
    assert rc == 0, err
    env, data = parse_dump(out)
    assert env["TCPREMOTEIP"] == "127.0.0.9"
    assert env["TCPREMOTEPORT"] == "7777"
    assert "TCPLOCALIP" not in env
    assert data == APP


BAD = [
    ("lone-cr", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n"),
    ("lone-lf", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
    ("nul", b"PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n"),
    ("wrong-signature", b"GET / HTTP/1.0\r\n\r\n"),
    ("v2-wrong-signature", b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x00"),
    ("v1-too-long", b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n"),
    ("v1-bad-port", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"),
    ("v2-short-for-family", v2(1, 0x21, inet4("1.2.3.4", "5.6.7.8", 1, 2))),
    ("v2-bad-crc", v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2), tlv(0x01, b"h2"), crc=True)[:-1] + b"3"),
    ("v2-tlv-overrun", v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2), b"\x01\x00\x09ab")),
    ("v2-unique-id-129", v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2), tlv(0x05, b"u" * 129))),
]


@pytest.mark.parametrize("name,data", BAD, ids=[b[0] for b in BAD])
def test_invalid_exits_1(procs, name, data):
    rc, out, err = run_fed(procs, [], data, app=b"must not reach")
    assert rc == 1
    assert out == b""
    assert err.startswith(b"proxy-server: fatal: invalid PROXY header: ")
    assert err.count(b"\n") == 1


@pytest.mark.parametrize("args,data", [
    (["-1"], v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2))),
    (["--only-v1"], v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2))),
    (["-2"], b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
    (["--only-v2"], b"PROXY UNKNOWN\r\n"),
    ([], SIG + b"\x11\x11\x00\x00"),  # version nibble 1
    ([], SIG + b"\x31\x11\x00\x00"),  # version nibble 3
    ([], SIG + b"\x23\x11\x00\x00"),  # command 3
    (["-u"], SIG + b"\x2f\x12\x00\x00"),  # command 15
], ids=["-1", "--only-v1", "-2", "--only-v2", "version1", "version3", "command", "command-udp"])
def test_disabled_version_and_bad_v2_byte_exit_1(procs, args, data):
    """As the reference classifies them: a header of the version -1/-2
    disabled, and a v2 block whose version nibble or command is unknown,
    are invalid syntax (1), not unsupported (2)."""
    rc, out, err = run_fed(procs, args, data, app=b"must not reach")
    assert rc == 1
    assert out == b""
    assert err.startswith(b"proxy-server: fatal: invalid PROXY header: ")
    assert err.count(b"\n") == 1


@pytest.mark.parametrize("args,data", [
    ([], SIG + b"\x21\x41\x00\x00"),  # family 4
    ([], SIG + b"\x21\x13\x00\x00"),  # transport 3
    (["-u"], SIG + b"\x21\x13\x00\x00"),
    ([], v2(1, 0x12, inet4("1.2.3.4", "5.6.7.8", 1, 2))),  # UDP over INET
    (["--only-v2"], v2(1, 0x22, inet6("::1", "::2", 1, 2))),  # UDP over INET6
], ids=["family", "transport", "transport-u", "udp4", "udp6"])
def test_unsupported_exits_2(procs, args, data):
    rc, out, err = run_fed(procs, args, data, app=b"must not reach")
    assert rc == 2
    assert out == b""
    assert err.startswith(b"proxy-server: fatal: unsupported PROXY header: ")
    assert err.count(b"\n") == 1


@pytest.mark.parametrize("args,data", [
    (["-1"], b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
    (["--only-v2"], v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2))),
])
def test_only_flag_accepts_its_version(procs, args, data):
    rc, out, err = run_fed(procs, args, data, app=b"z")
    assert rc == 0, err
    env, app = parse_dump(out)
    assert env["TCPREMOTEIP"] == "1.2.3.4" and app == b"z"


@pytest.mark.parametrize("data", [b"", b"PROXY TCP4 1.2.3", SIG + b"\x21\x11\x00\x0c\x01"],
                         ids=["empty", "v1-truncated", "v2-truncated"])
def test_eof_in_header_exits_1(procs, data):
    rc, out, err = run_fed(procs, [], data)
    assert rc == 1
    assert b"connection closed" in err and err.count(b"\n") == 1


def test_oversized_v2_length_waits_then_times_out(procs):
    """A v2 length larger than what is sent: proxy-server waits for the
    rest (no read past it), and -t bounds that wait."""
    f = Fed(procs, ["-t", "300"], "socket")
    f.feed(SIG + b"\x21\x11\xff\xff" + inet4("1.2.3.4", "5.6.7.8", 1, 2))
    rc = f.p.wait(10)
    assert rc == 111
    assert f.p.stderr.read() == b"proxy-server: fatal: unable to read PROXY header: timed out\n"


@pytest.mark.parametrize("kind", ["socket", "pipe"])
def test_slowloris_bounded_by_t(procs, kind):
    """-t bounds the whole header, not each read: a sender trickling a
    byte at a time is cut off."""
    f = Fed(procs, ["-t", "400"], kind)
    h = b"PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n"
    start = time.monotonic()
    for i in range(len(h)):
        if f.p.poll() is not None:
            break
        try:
            f.send(h[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.05)
    rc = f.p.wait(10)
    assert rc == 111
    assert time.monotonic() - start < 5
    assert f.p.stderr.read().endswith(b"timed out\n")


def test_silent_sender_times_out(procs):
    f = Fed(procs, ["-t", "200"], "socket")
    assert f.p.wait(10) == 111


def test_no_timeout_by_default_and_t0(procs):
    for args in ([], ["-t", "0"]):
        f = Fed(procs, args, "socket")
        with pytest.raises(subprocess.TimeoutExpired):
            f.p.wait(0.5)
        f.feed(b"PROXY UNKNOWN\r\n")
        rc, out, err = f.finish(b"late")
        assert rc == 0 and parse_dump(out)[1] == b"late"


@pytest.mark.parametrize("args", [
    [], ["-t"], ["-t", "x", "true"], ["-t", "-1", "true"], ["-v", "z", "true"],
    ["-1", "-2", "true"], ["--only-v1", "--only-v2", "true"], ["-x", "true"], ["--bogus", "true"],
])
def test_usage_exits_100(args):
    r = run([prog("proxy-server")] + args, input=b"PROXY UNKNOWN\r\n")
    assert r.returncode == 100
    # the program is named once: "proxy-server: usage: proxy-server [ -1..."
    assert r.stderr.startswith(b"proxy-server: usage: proxy-server [ -1")
    assert r.stderr.count(b"\n") == 1


def test_options_stop_at_prog():
    """Everything after prog is prog's: proxy-server does not parse -1 there."""
    r = run([prog("proxy-server"), "-v", "1", "sh", "-c", "echo $0 $1", "-1", "-2"],
            input=b"PROXY UNKNOWN\r\n", env=base_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"-1 -2\n"


def test_exec_failure_exits_111():
    r = run([prog("proxy-server"), "/nonexistent/prog"], input=b"PROXY UNKNOWN\r\n")
    assert r.returncode == 111
    assert r.stderr.startswith(b"proxy-server: fatal: unable to exec /nonexistent/prog")


def test_verbose_2_logs_one_info_line(procs):
    rc, out, err = run_fed(procs, ["-v", "2"], b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")
    assert rc == 0
    assert err.startswith(b"proxy-server: info: PROXY v1 PROXY header of 32 bytes")


def test_nonprintable_tlv_not_exported(procs):
    h = v2(1, 0x11, inet4("1.2.3.4", "5.6.7.8", 1, 2), tlv(0x01, b"h\n2") + tlv(0x05, b"ok"))
    rc, out, err = run_fed(procs, [], h)
    env, _ = parse_dump(out)
    assert "PROXY_ALPN" not in env and env["PROXY_UNIQUE_ID"] == "ok"
    assert b"warning" in err and b"PROXY_ALPN" in err
    rc, out, err = run_fed(procs, ["-v", "0"], h)
    assert err == b""


def test_is_one_exec_not_a_fork(procs):
    """proxy-server replaces itself with prog: same pid, no extra process."""
    f = Fed(procs, [], "socket", prog_args=["sh", "-c", "echo $$; exec cat"])
    f.feed(b"PROXY UNKNOWN\r\n")
    rc, out, err = f.finish(b"")
    assert int(out.split()[0]) == f.p.pid


def test_tcp_peer_over_loopback(procs):
    """A real TCP connection through ucspi-tcp's tcpserver, header and data
    in one segment."""
    from proxy_util import start_backend
    port = start_backend(procs, [])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PROXY TCP6 ::1 2001:db8::5 1234 80\r\nPING\n")
    s.shutdown(socket.SHUT_WR)
    env, data = parse_dump(recv_all(s))
    assert env["TCPREMOTEIP"] == "::1" and env["TCPLOCALIP"] == "2001:db8::5"
    assert data == b"PING\n"
