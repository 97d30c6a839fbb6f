#!/usr/bin/env python3
"""HTTP(S) peer for the Transport client tests (Python standard library only).

Prints the bound port on the first line of stdout, then serves until killed.

  http_peer.py [--cert C --key K [--client-ca CA]]

Endpoints:
  ANY  /echo            JSON: method, path, headers, body (text), peer port, client cert subject
  GET  /stream?chunks=N&interval=S   chunked body, one chunk every S seconds
  GET  /lockstep?chunks=N  chunk i+1 only after GET /ack?n=i (proves incremental delivery)
  GET  /slow?delay=S    headers at once, body after S seconds of silence
  GET  /hang            never answers (until the client goes away)
  GET  /status/CODE     that status with a short body
  GET  http://…         (absolute form) answered as a forward proxy would: {"proxied": true, ...}
"""
import argparse
import json
import os
import threading
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Acks:
    def __init__(self):
        self.seen = set()
        self.cond = threading.Condition()

    def add(self, n):
        with self.cond:
            self.seen.add(n)
            self.cond.notify_all()

    def wait_for(self, n, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: n in self.seen, timeout)


ACKS = Acks()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length) if length else b""

    def _json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body()
        if self.path.startswith("http://"):
            return self._json(200, {"proxied": True, "target": self.path})
        if url.path == "/echo":
            cert = None
            if isinstance(self.connection, ssl.SSLSocket):
                peer = self.connection.getpeercert()
                if peer:
                    cert = dict(x[0] for x in peer["subject"]).get("commonName")
            return self._json(200, {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "peerPort": self.client_address[1],
                "clientCert": cert,
            })
        if url.path == "/stream":
            chunks = int(query.get("chunks", "3"))
            interval = float(query.get("interval", "0.2"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for i in range(chunks):
                time.sleep(interval)
                line = (json.dumps({"chunk": i}) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if url.path == "/lockstep":
            # Chunk i+1 is written only after the client has fetched /ack?n=i, which it can
            # do only if it received chunk i while the response was still open.
            chunks = int(query.get("chunks", "3"))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for i in range(chunks):
                line = (json.dumps({"chunk": i}) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                if i + 1 < chunks and not ACKS.wait_for(i, timeout=30):
                    line = b'{"timeout": true}\n'
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if url.path == "/ack":
            ACKS.add(int(query["n"]))
            return self._json(200, {})
        if url.path == "/slow":
            delay = float(query.get("delay", "2"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.flush()
            time.sleep(delay)
            self.wfile.write(b"ok")
            return
        if url.path == "/hang":
            time.sleep(30)
            return self._json(200, {})
        if url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            data = ("status %d body" % code).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._json(404, {"error": "no such path"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


def exit_with_parent():
    """Ends this peer when the test process that started it goes away."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    exit_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--client-ca")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
