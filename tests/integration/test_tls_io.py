"""The engines driven directly: s6-tlsd-io on one end of a real loopback
TCP connection, Python's ssl module (OpenSSL) on the other, cleartext on
pipes. Exit codes and close semantics (-S/-s, -J/-j) are checked exactly."""
import os
import random
import socket
import ssl
import subprocess

import pytest

from conftest import base_env, prog
from tls_util import server_env
from util import read_all, recv_all


class Engine:
    def __init__(self, opts, env, notify=False):
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        self.raw = socket.create_connection(lst.getsockname(), timeout=10)
        srv, _ = lst.accept()
        lst.close()
        a2e_r, self.app_w = os.pipe()   # application -> engine
        self.app_r, e2a_w = os.pipe()   # engine -> application
        fds = [a2e_r, e2a_w]
        args = [prog("s6-tlsd-io")] + opts
        if notify:
            self.notif_r, nw = os.pipe()
            fds.append(nw)
            args += ["-d", str(nw)]
        args += ["--", str(a2e_r), str(e2a_w)]
        self.p = subprocess.Popen(args, stdin=srv, stdout=srv, stderr=subprocess.PIPE, env=env, pass_fds=fds)
        srv.close()
        for fd in fds:
            os.close(fd)

    def tls(self, certs, name="localhost", **kw):
        ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
        # Python sets this by default; without it a bare EOF is visible.
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        for k, v in kw.items():
            setattr(ctx, k, v)
        self.t = ctx.wrap_socket(self.raw, server_hostname=name, suppress_ragged_eofs=False)
        return self.t

    def tcp_half_close(self):
        """FIN without close_notify, the TLS object stays usable for reading."""
        s = socket.socket(fileno=os.dup(self.t.fileno()))
        s.shutdown(socket.SHUT_WR)
        s.close()

    def app_read_all(self):
        return read_all(self.app_r)

    def finish(self):
        rc = self.p.wait(20)
        err = self.p.stderr.read()
        self.p.stderr.close()
        for fd in (self.app_r, self.app_w):
            try:
                os.close(fd)
            except OSError:
                pass
        return rc, err


def test_notification_content(certs):
    e = Engine([], server_env(certs), notify=True)
    e.tls(certs)
    data = b""
    while not data.endswith(b"\0\0"):
        d = os.read(e.notif_r, 4096)
        assert d
        data += d
    os.close(e.notif_r)
    kv = dict(x.split(b"=", 1) for x in data[:-2].split(b"\0"))
    assert kv[b"SSL_PROTOCOL"] == b"TLSv1.3"
    assert kv[b"SSL_CIPHER"] == e.t.cipher()[0].encode()
    assert kv[b"SSL_TLS_SNI_SERVERNAME"] == b"localhost"
    assert b"SSL_PEER_CERT_HASH" not in kv
    os.close(e.app_w)
    e.t.close()
    assert e.finish()[0] == 0


@pytest.mark.parametrize("strict", [False, True])
def test_peer_eof_without_close_notify(certs, strict):
    e = Engine(["-J"] if strict else [], server_env(certs))
    t = e.tls(certs)
    t.sendall(b"before eof")
    e.tcp_half_close()
    got = e.app_read_all()
    assert got == b"before eof"
    os.close(e.app_w)
    rc, err = e.finish()
    if strict:
        assert rc == 98 and b"close_notify" in err, err
    else:
        assert rc == 0, err


def test_half_close_keeps_other_direction(certs):
    """-s: the application's EOF reaches the client as a TCP EOF with no
    close_notify, and the client can still send afterwards."""
    e = Engine(["-s"], server_env(certs))
    t = e.tls(certs)
    os.write(e.app_w, b"answer")
    os.close(e.app_w)
    assert t.recv(100) == b"answer"
    with pytest.raises(ssl.SSLError, match="UNEXPECTED_EOF"):
        t.recv(100)
    t.close()
    e.finish()
    # A peer that accepts a bare EOF keeps the other direction going.
    e = Engine(["-s"], server_env(certs))
    t = e.tls(certs, options=ssl.create_default_context().options | ssl.OP_IGNORE_UNEXPECTED_EOF)
    os.write(e.app_w, b"answer")
    os.close(e.app_w)
    assert recv_all(t) == b"answer"
    t.sendall(b"late data")
    e.tcp_half_close()
    assert e.app_read_all() == b"late data"
    assert e.finish()[0] == 0


def test_close_notify_mode(certs):
    """-S: the application's EOF becomes a close_notify; the engine then
    waits for the client's and exits 0."""
    e = Engine(["-S"], server_env(certs))
    t = e.tls(certs)
    os.write(e.app_w, b"bye")
    os.close(e.app_w)
    assert t.recv(100) == b"bye"
    assert t.recv(100) == b""   # close_notify: a clean end of stream
    t.unwrap()
    assert e.app_read_all() == b""
    assert e.finish()[0] == 0


def test_der_key_and_cadir_client_cert(certs):
    env = base_env(KEYFILE=certs.p("server.key.der"), CERTFILE=certs.p("server.der"), CADIR=certs.p("cadir"))
    e = Engine(["-y"], env, notify=True)
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    ctx.load_cert_chain(certs.p("client.pem"), certs.p("client.key"))
    e.t = ctx.wrap_socket(e.raw, server_hostname="localhost")
    data = b""
    while not data.endswith(b"\0\0"):
        data += os.read(e.notif_r, 4096)
    os.close(e.notif_r)
    assert b"SSL_PEER_CERT_SUBJECT=CN=test client,O=s6net\0" in data
    e.t.sendall(b"x")
    e.tcp_half_close()
    assert e.app_read_all() == b"x"
    os.close(e.app_w)
    assert e.finish()[0] == 0


def test_peer_reset_mid_stream(certs):
    e = Engine([], server_env(certs))
    t = e.tls(certs)
    t.sendall(b"partial")
    assert os.read(e.app_r, 100) == b"partial"
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    os.write(e.app_w, b"x" * 100000)
    t.close()
    rc, err = e.finish()
    assert rc in (0, 98), err
    assert err.count(b"\n") <= 1


def test_truncated_handshake_exits_98(certs):
    e = Engine(["-K", "3000"], server_env(certs))
    e.raw.sendall(b"\x16\x03\x01\x00\x80\x01\x00\x00\x7c\x03\x03")
    e.raw.shutdown(socket.SHUT_WR)
    rc, err = e.finish()
    assert rc == 98
    assert err.startswith(b"s6-tlsd-io: ") and err.count(b"\n") == 1


class MemClient:
    """A TLS client over memory BIOs on the engine's raw socket: the test
    decides what bytes reach the wire and in which TCP writes."""

    def __init__(self, e, certs):
        ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.o = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        self.raw = e.raw
        while True:
            try:
                self.o.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                d = self.raw.recv(65536)
                assert d, "engine closed during the handshake"
                self.inc.write(d)
        self.flush()

    def flush(self):
        d = self.out.read()
        if d:
            self.raw.sendall(d)

    def records(self, *chunks):
        """The wire bytes of one record per chunk, not sent."""
        for c in chunks:
            self.o.write(c)
        return self.out.read()


def test_many_records_in_one_segment(certs):
    """Records that arrive together are all delivered, in order, whatever
    the engine reads at once."""
    e = Engine([], server_env(certs))
    c = MemClient(e, certs)
    chunks = [bytes([65 + i % 26]) * (100 + 37 * i) for i in range(60)]
    e.raw.sendall(c.records(*chunks))
    e.raw.shutdown(socket.SHUT_WR)
    assert e.app_read_all() == b"".join(chunks)
    os.close(e.app_w)
    assert e.finish()[0] == 0


def test_bad_record_after_good_ones(certs):
    """Good records followed, in the same TCP write, by a corrupted one:
    the application gets every good byte, then the engine reports the bad
    record in one line and exits 98."""
    e = Engine([], server_env(certs))
    c = MemClient(e, certs)
    good = c.records(b"first record ", b"second record")
    bad = bytearray(c.records(b"never delivered"))
    bad[-1] ^= 0xFF  # breaks the record's authentication tag
    e.raw.sendall(good + bytes(bad))
    assert e.app_read_all() == b"first record second record"
    os.close(e.app_w)
    rc, err = e.finish()
    assert rc == 98, err
    assert err.startswith(b"s6-tlsd-io: warning: unable to read from peer: ") and err.count(b"\n") == 1, err


@pytest.mark.parametrize("strict", [False, True])
def test_records_and_eof_together(certs, strict):
    """Several records and the TCP FIN arrive at once: all the data first,
    then the end (-J: the missing close_notify is reported after it)."""
    e = Engine(["-J"] if strict else [], server_env(certs))
    c = MemClient(e, certs)
    e.raw.sendall(c.records(b"a" * 20000, b"b" * 3000, b"c"))
    e.raw.shutdown(socket.SHUT_WR)
    assert e.app_read_all() == b"a" * 20000 + b"b" * 3000 + b"c"
    os.close(e.app_w)
    rc, err = e.finish()
    if strict:
        assert rc == 98 and err.count(b"\n") == 1 and b"close_notify" in err, err
    else:
        assert rc == 0, err


def record_spans(wire):
    """(start, end) of each TLS record in wire."""
    out, i = [], 0
    while i < len(wire):
        end = i + 5 + int.from_bytes(wire[i + 3:i + 5], "big")
        out.append((i, end))
        i = end
    return out


@pytest.mark.parametrize("seed", range(16))
def test_corruption_anywhere_delivers_exactly_the_good_records(certs, seed):
    """One bit flipped somewhere in a run of records (not in a length
    field, which would only make the engine wait for more), the run sent
    in random-sized TCP writes: the application gets exactly the records
    before the damaged one, and the engine exits 98 with one line."""
    rnd = random.Random(seed)
    e = Engine([], server_env(certs))
    c = MemClient(e, certs)
    wire, plain = b"", []  # plain: the cleartext of each record, in order
    for i in range(8):
        ch = bytes([97 + i]) * rnd.randint(1, 40000)
        rec = c.records(ch)
        spans = record_spans(rec)
        # OpenSSL cuts a write into records of at most 16384 bytes.
        assert sum(min(16384, len(ch) - 16384 * k) for k in range(len(spans))) == len(ch)
        plain += [ch[16384 * k:16384 * (k + 1)] for k in range(len(spans))]
        wire += rec
    spans = record_spans(wire)
    assert len(spans) == len(plain)
    while True:
        pos = rnd.randrange(len(wire))
        if not any(s + 3 <= pos < s + 5 for s, _ in spans):
            break
    damaged = bytearray(wire)
    damaged[pos] ^= 1 << rnd.randrange(8)
    want = b"".join(p for (s, end), p in zip(spans, plain) if end <= pos)
    off = 0
    while off < len(damaged):
        n = rnd.randint(1, 30000)
        try:
            e.raw.sendall(bytes(damaged[off:off + n]))
        except (BrokenPipeError, ConnectionResetError):
            break   # the engine met the damaged record and is gone: expected
        off += n
    else:
        e.raw.shutdown(socket.SHUT_WR)
    assert e.app_read_all() == want
    os.close(e.app_w)
    rc, err = e.finish()
    assert rc == 98, (pos, err)
    assert err.startswith(b"s6-tlsd-io: warning: ") and err.count(b"\n") == 1, err
