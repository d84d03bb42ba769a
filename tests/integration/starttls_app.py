#!/usr/bin/python3
"""A scriptable UCSPI-TLS application for the starttls tests.

    starttls_app.py server|client STEP...

Run under s6-ucspitlsd (role server: network on fds 0/1) or s6-ucspitlsc
(role client: network on fds 6/7, or NETFDS=r,w). Each STEP is one
action; what the application observes is appended, one line per fact, to
the file named by $STARTTLS_REPORT, so tests can assert on it without
disturbing the protocol on the wire.

  send:TEXT     write TEXT CRLF on the current output
  expect:PFX    read one line; fail (exit 3) unless it starts with PFX
  ctl:BYTES     write BYTES (Python escapes allowed: \\x00) on the control socket
  info          read the control socket to EOF; report INFO k=v|k=v or INFO none
  closectl      close the control socket
  upgrade       use SSLREADFD / SSLWRITEFD from now on; release the network fds
  echo          copy input to output until EOF, then close the output
  bulk:N        send N pseudo-random bytes, close the output, read until EOF;
                report BULK ok N or BULK bad
  env           report ENV NAME=value for the UCSPI-TLS and key variables
  wait          wait for the helper; report HELPER exit N / HELPER signal N
  report:TEXT   report TEXT
"""
import codecs
import hashlib
import os
import sys
import threading

KEYS = ("SSLCTLFD", "SSLREADFD", "SSLWRITEFD", "KEYFILE", "CERTFILE", "CAFILE",
        "CADIR", "TLS_UID", "TLS_GID")


def report(line):
    path = os.environ.get("STARTTLS_REPORT")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (line + "\n").encode())
    os.close(fd)


def pattern(n):
    out = bytearray()
    block = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d" % block).digest() * 64
        block += 1
    return bytes(out[:n])


def readline(fd):
    buf = b""
    while not buf.endswith(b"\n"):
        c = os.read(fd, 1)
        if not c:
            break
        buf += c
    return buf.rstrip(b"\r\n").decode(errors="replace")


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def main():
    role = sys.argv[1]
    if role == "server":
        inp, out = 0, 1
    else:
        r, w = os.environ.get("NETFDS", "6,7").split(",")
        inp, out = int(r), int(w)
    ctl = int(os.environ["SSLCTLFD"]) if "SSLCTLFD" in os.environ else -1
    for step in sys.argv[2:]:
        op, _, arg = step.partition(":")
        if op == "send":
            write_all(out, arg.encode() + b"\r\n")
        elif op == "expect":
            line = readline(inp)
            if not line.startswith(arg):
                report("FAIL expected %r got %r" % (arg, line))
                sys.exit(3)
        elif op == "ctl":
            try:
                write_all(ctl, codecs.decode(arg, "unicode_escape").encode("latin-1"))
            except OSError as e:
                report("CTLERR %s" % e.strerror)
        elif op == "info":
            data = b""
            while True:
                d = os.read(ctl, 4096)
                if not d:
                    break
                data += d
            if not data:
                report("INFO none")
            else:
                ok = data.endswith(b"\0\0")
                items = data.rstrip(b"\0").split(b"\0")
                report("INFO " + ("" if ok else "BAD ") + "|".join(i.decode() for i in items))
        elif op == "closectl":
            os.close(ctl)
        elif op == "upgrade":
            newin, newout = int(os.environ["SSLREADFD"]), int(os.environ["SSLWRITEFD"])
            if role == "server":
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.close(null)
            else:
                os.close(inp)
                os.close(out)
            inp, out = newin, newout
        elif op == "echo":
            # The engine may be gone already (-J, a failed peer): stop
            # writing, keep draining, report it.
            while True:
                d = os.read(inp, 65536)
                if not d:
                    break
                if out >= 0:
                    try:
                        write_all(out, d)
                    except BrokenPipeError:
                        report("EPIPE")
                        os.close(out)
                        out = -1
            if out >= 0:
                os.close(out)
        elif op == "bulk":
            n = int(arg)
            data = pattern(n)

            def writer():
                write_all(out, data)
                os.close(out)
            t = threading.Thread(target=writer)
            t.start()
            got = bytearray()
            while True:
                d = os.read(inp, 65536)
                if not d:
                    break
                got += d
            t.join()
            report("BULK ok %d" % n if bytes(got) == data else "BULK bad %d/%d" % (len(got), n))
        elif op == "env":
            for k in sorted(os.environ):
                if k in KEYS or k.startswith("KEYFILE:") or k.startswith("CERTFILE:"):
                    report("ENV %s=%s" % (k, os.environ[k]))
        elif op == "wait":
            _, st = os.waitpid(-1, 0)
            if os.WIFEXITED(st):
                report("HELPER exit %d" % os.WEXITSTATUS(st))
            else:
                report("HELPER signal %d" % os.WTERMSIG(st))
        elif op == "report":
            report(arg)
        else:
            report("FAIL unknown step %r" % step)
            sys.exit(3)
    report("DONE")


if __name__ == "__main__":
    main()
