"""A lossy, reordering, delaying link and a TCP peer, for test_net_apps.py's
loss test. Runs as root inside the test's network namespace:

    net_relay.py QEMU_TAP PEER_TAP ADDR PORT SEND EXPECT LOSS REORDER DELAY_MS SEED TIMEOUT

The guest's NIC is QEMU's tap QEMU_TAP, which has no address: the host's
stack ignores what arrives on it, and a packet socket on it sees every frame
the guest sends and can send frames to the guest. The peer's side is a
second tap, PEER_TAP, which this program opens and whose address is ADDR.
Frames are carried between the two by the loop below, which drops a share
LOSS of the IPv4 frames in each direction, delays every frame by DELAY_MS
and holds a share REORDER of them for another DELAY_MS + 5 ms so that later
frames overtake them (what netem's loss/delay/reorder would do; this
machine's kernel has no netem, and this needs none). ARP passes unharmed.

The peer listens on ADDR:PORT, accepts one connection, sends SEND's bytes
while receiving, and checks that what arrives is EXPECT's bytes. One JSON
line on stdout says how it went ({"ok": ..., ...}); "ready" comes first.
The link keeps running after that until stdin closes (the test closes it
once the guest is done: our last segments may still need it).
"""
import fcntl
import hashlib
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
ETH_P_ALL = 0x0003


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


class Relay:
    def __init__(self, qemu_tap, peer_tap, loss, reorder, delay, seed):
        self.ps = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.ps.bind((qemu_tap, 0))
        self.ps.setblocking(False)
        self.tap = open_tap(peer_tap)
        self.loss, self.reorder, self.delay = loss, reorder, delay
        self.rng = random.Random(seed)
        self.heap, self.seq = [], 0
        self.stats = {"to_peer": 0, "to_guest": 0, "dropped": 0, "reordered": 0,
                      "send_failed": 0}
        self.stop = False

    def schedule(self, dst, frame, now):
        ip = len(frame) >= 14 and frame[12:14] == b"\x08\x00"
        d = self.delay
        if ip:
            if self.rng.random() < self.loss:
                self.stats["dropped"] += 1
                return
            if self.rng.random() < self.reorder:
                d += self.delay + 0.005
                self.stats["reordered"] += 1
        self.seq += 1
        heapq.heappush(self.heap, (now + d, self.seq, dst, frame))

    def run(self):
        while not self.stop:
            now = time.monotonic()
            wait = min(0.05, max(0.0, self.heap[0][0] - now)) if self.heap else 0.05
            r, _, _ = select.select([self.ps, self.tap], [], [], wait)
            now = time.monotonic()
            if self.ps in r:
                while True:
                    try:
                        data, addr = self.ps.recvfrom(65536)
                    except BlockingIOError:
                        break
                    if addr[2] == socket.PACKET_OUTGOING:
                        continue   # our own sends toward the guest
                    self.schedule("peer", data, now)
            if self.tap in r:
                while True:
                    try:
                        data = os.read(self.tap, 65536)
                    except BlockingIOError:
                        break
                    self.schedule("guest", data, now)
            while self.heap and self.heap[0][0] <= now:
                _, _, dst, frame = heapq.heappop(self.heap)
                try:
                    if dst == "peer":
                        os.write(self.tap, frame)
                    else:
                        self.ps.send(frame)
                    self.stats["to_" + dst] += 1
                except OSError:
                    self.stats["send_failed"] += 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv):
    (qemu_tap, peer_tap, addr, port, send_path, expect_path, loss, reorder, delay_ms, seed,
     timeout) = argv
    relay = Relay(qemu_tap, peer_tap, float(loss), float(reorder), float(delay_ms) / 1000,
                  int(seed))
    rt = threading.Thread(target=relay.run, daemon=True)
    rt.start()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(1)
    ls.settimeout(float(timeout))
    print("ready", flush=True)
    res = {"ok": False}
    t0 = time.monotonic()
    try:
        c, peer = ls.accept()
        c.settimeout(float(timeout))
        with open(send_path, "rb") as f:
            data = f.read()
        err = []

        def sender():
            try:
                c.sendall(data)
            except OSError as e:
                err.append(str(e))
        st = threading.Thread(target=sender)
        st.start()
        # Our end of stream tells the guest that everything it sent has
        # arrived (it exits on it, and a VM that powers off takes unsent
        # data with it): so it comes only after the last expected byte.
        want = os.path.getsize(expect_path)
        h, n = hashlib.sha256(), 0
        while n < want:
            d = c.recv(min(1 << 16, want - n))
            if not d:
                break
            h.update(d)
            n += len(d)
        st.join(float(timeout))
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(str(e))
        c.close()
        res = {"ok": not err and h.hexdigest() == sha256_file(expect_path) and not st.is_alive(),
               "received": n, "sent_error": err, "peer": peer[0],
               "seconds": round(time.monotonic() - t0, 2)}
    except OSError as e:
        res = {"ok": False, "error": str(e), "seconds": round(time.monotonic() - t0, 2)}
    res["link"] = dict(relay.stats)
    print(json.dumps(res), flush=True)
    # The link stays up: our last bytes and FIN may still be in flight
    # (retransmitted by this kernel) when the peer is done. The test ends
    # us once the guest has exited, or stdin closes.
    try:
        sys.stdin.read()
    except (OSError, KeyboardInterrupt):
        pass
    relay.stop = True
    rt.join(2)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
