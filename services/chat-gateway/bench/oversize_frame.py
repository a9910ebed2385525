# An announced-huge frame against a running gateway: the header of a text frame claiming 2^62
# bytes, then 16 MiB, on an authenticated socket; prints the gateway's RSS before and after.
# Against the gateways `loadgen` holds open (it signs tokens with its own development secret):
#   target/release/loadgen --scenarios idle --idle 10 --hold 120 &   # prints the gateway pids
#   python3 services/chat-gateway/bench/oversize_frame.py PORT PID   # PORT: `ss -ltnp | grep PID`
import base64, hashlib, hmac, json, socket, sys, time, os
port, pid = int(sys.argv[1]), int(sys.argv[2])
secret = b"loadgen-secret-loadgen-secret-loadgen-0123"
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=")
now = int(time.time())
claims = {"sub": "1", "name": "probe", "role": "user", "jti": os.urandom(8).hex(), "iat": now, "exp": now + 600, "iss": "chat-platform"}
msg = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(claims).encode())
token = (msg + b"." + b64(hmac.new(secret, msg, hashlib.sha256).digest())).decode()
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) / 1024
s = socket.create_connection(("127.0.0.1", port))
s.sendall((f"GET /ws?token={token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
head = s.recv(4096)
assert head.startswith(b"HTTP/1.1 101"), head[:200]
time.sleep(1)
before = rss()
t0 = time.time()
sent = 0
try:
    s.sendall(bytes([0x81, 0x80 | 127]) + (1 << 62).to_bytes(8, "big") + b"\x01\x02\x03\x04")
    chunk = b"x" * 65536
    while sent < 16 << 20:
        s.sendall(chunk); sent += len(chunk)
except OSError as e:
    print(f"send stopped after {sent >> 10} KiB: {e}")
elapsed = time.time() - t0
time.sleep(1)
print(f"sent {sent >> 20} MiB in {elapsed:.2f} s; gateway RSS {before:.1f} -> {rss():.1f} MiB")
