"""CPython's http.server wrapped in ssl, for `asyncore get https://`.

usage: https_server.py CERT KEY
Prints "port N", then serves until killed. Paths:
  /length   a body with Content-Length
  /ragged   an HTTP/1.0 body delimited by the close, without close_notify
  /clean    the same, ended with close_notify
"""
import http.server
import ssl
import sys

cert, key = sys.argv[1], sys.argv[2]
BODY = b"hello over https\n" * 100


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/length":
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            return
        self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(BODY)
        self.wfile.flush()
        if self.path == "/clean":
            self.connection.unwrap()  # close_notify
        # /ragged: the server's shutdown ends TCP without close_notify.

    def log_message(self, *args):
        pass


httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("port %d" % httpd.server_address[1], flush=True)
httpd.serve_forever()
