#!/usr/bin/env python3
"""Yagura's userspace link impairment relay: netem for kernels without sch_netem.

One relay runs per data center, inside the DC's namespace, and is told over a
unix socket which links to impair. Relaying link yg-v3 of bridge rack2 means:

    node --veth--> yg-v3 --(AF_PACKET, impaired)--> tap yg-r3 --> bridge rack2
    node <--veth-- yg-v3 <--(AF_PACKET, as is)----- tap yg-r3 <-- bridge rack2

so yg-v3 leaves the bridge (for a bridge of its own, yg-q3, that stays down:
see hold_in_quarantine) and the tap takes its place. Only what the node sends
is impaired, which is what `tc qdisc ... root netem` on the node's own ethI
would do.

The impairment follows sch_netem where it can:
  * loss is decided per frame on arrival;
  * delay is uniform in [delay - jitter, delay + jitter] (netem's default
    without a distribution table); with jitter and no rate, frames leave in
    send-time order, so jitter reorders as netem's tfifo does;
  * rate serializes frames: a frame starts after the one before it has left
    (so rate keeps FIFO order, as netem's rate does), and takes
    wire-bytes * 8 / rate seconds; a GSO super-frame counts as the segments
    it stands for, headers included;
  * at most QUEUE_LIMIT frames wait per link (netem's default limit); more
    are dropped and counted as overlimit.

Frames keep their virtio-net header from the AF_PACKET socket
(PACKET_VNET_HDR) to the tap (IFF_VNET_HDR) and back, so TSO/GSO
super-frames and partial checksums pass through intact; without it TCP over
the relayed veth breaks. VLAN tags that the kernel moved into metadata are
put back into the frame.

Control protocol: one JSON object per line, one JSON answer per line:
  {"op":"set","link":"yg-v3","bridge":"rack2","delayUs":20000,"jitterUs":0,
   "lossPercent":0,"rateBitsPerSecond":0}
  {"op":"clear","link":"yg-v3"}
  {"op":"list"}
Answers are {"ok":true,...} or {"ok":false,"error":"..."}.

The relay prints {"ready":true,...} on stdout once it listens, logs JSON
lines on stderr, and runs until SIGTERM/SIGINT/SIGHUP or EOF on stdin; then
it puts every link back into its bridge and closes the taps. Python 3
standard library only.
"""

import argparse
import fcntl
import heapq
import json
import math
import os
import random
import re
import select
import selectors
import signal
import socket
import stat
import struct
import subprocess
import sys
import time

# Linux ABI (linux/if_tun.h, linux/if_packet.h, linux/virtio_net.h).
TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
TUN_F_TSO_ECN = 0x08
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETH_P_8021Q = 0x8100
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_GSO_TCPV4 = 1
VIRTIO_NET_HDR_GSO_UDP = 3
VIRTIO_NET_HDR_GSO_TCPV6 = 4
VIRTIO_NET_HDR_GSO_UDP_L4 = 5
VIRTIO_NET_HDR_GSO_ECN = 0x80

# struct virtio_net_hdr in the legacy (native) byte order that both the tap
# and the packet socket use: flags, gso_type, hdr_len, gso_size, csum_start,
# csum_offset.
VNET_HDR = struct.Struct("=BBHHHH")
# struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid.
AUXDATA = struct.Struct("=IIIHHHH")
ETH_HLEN = 14

QUEUE_LIMIT = 1000
# Big enough for a 64 KiB GSO super-frame and BIG TCP ones up to 192 KiB.
FRAME_BUFFER = 256 * 1024
# Frames handled per link and wakeup before looking at the others.
BATCH = 64
# Frames due within this much are sent now rather than after another wakeup.
SEND_EARLY_S = 0.0002
LINK_NAME = re.compile(r"^yg-[vt][A-Za-z0-9_.-]{1,11}$")
DEVICE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
MAX_REQUEST = 64 * 1024
IP = os.environ.get("YAGURA_IP", "/usr/sbin/ip")


class RequestError(Exception):
    """A request the relay refuses; the message goes back to the caller."""


def log(level, message, **fields):
    line = {"level": level, "time": int(time.time() * 1000), "msg": message, **fields}
    try:
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a closed stderr must not stop the relay


def main():
    parser = argparse.ArgumentParser(description="Userspace link impairment relay (netem without sch_netem).")
    parser.add_argument("--control", required=True, help="unix socket path for the JSON control protocol")
    args = parser.parse_args()
    relay = Relay(args.control)
    try:
        relay.run()
    finally:
        relay.close()


# ---------------------------------------------------------------------------
# The impairment: pure scheduling decisions.


class Impairment:
    def __init__(self, delay_us=0, jitter_us=0, loss_percent=0.0, rate_bps=0):
        self.delay_us = delay_us
        self.jitter_us = jitter_us
        self.loss_percent = loss_percent
        self.rate_bps = rate_bps

    @staticmethod
    def from_request(request):
        def number(field, maximum=None):
            value = request.get(field, 0)
            if value is None:
                value = 0
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise RequestError(f"{field} must be a non-negative number, got {json.dumps(value)}")
            if maximum is not None and value > maximum:
                raise RequestError(f"{field} must be at most {maximum}, got {value}")
            return value

        return Impairment(
            delay_us=number("delayUs", 3_600_000_000),
            jitter_us=number("jitterUs", 3_600_000_000),
            loss_percent=number("lossPercent", 100),
            rate_bps=number("rateBitsPerSecond"),
        )

    def as_json(self):
        return {
            "delayUs": self.delay_us,
            "jitterUs": self.jitter_us,
            "lossPercent": self.loss_percent,
            "rateBitsPerSecond": self.rate_bps,
        }

    def lost(self, rng):
        return self.loss_percent > 0 and rng.random() * 100 < self.loss_percent

    def send_time(self, now, wire_bytes, busy_until, rng):
        """When a frame arriving now leaves, and until when the link is then busy."""
        delay = self.delay_us
        if self.jitter_us > 0:
            delay = max(0.0, delay + rng.uniform(-self.jitter_us, self.jitter_us))
        ready = now + delay / 1e6
        if self.rate_bps <= 0:
            return ready, busy_until
        leaves = max(ready, busy_until) + wire_bytes * 8 / self.rate_bps
        return leaves, leaves


def wire_bytes(vnet, frame):
    """The bytes a frame takes on the wire; a GSO super-frame counts as its segments."""
    flags, gso_type, hdr_len, gso_size, csum_start, _ = VNET_HDR.unpack_from(vnet)
    kind = gso_type & ~VIRTIO_NET_HDR_GSO_ECN
    if kind == 0 or gso_size == 0:
        return len(frame)
    headers = hdr_len
    if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
        if kind in (VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6) and csum_start + 13 <= len(frame):
            headers = csum_start + (frame[csum_start + 12] >> 4) * 4
        elif kind in (VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_GSO_UDP_L4):
            headers = csum_start + 8
    headers = min(max(headers, ETH_HLEN), len(frame))
    segments = max(1, math.ceil((len(frame) - headers) / gso_size))
    return len(frame) + (segments - 1) * headers


# ---------------------------------------------------------------------------
# The relay: sockets, taps and the event loop.


class Relay:
    def __init__(self, control_path):
        self.control_path = control_path
        self.selector = selectors.DefaultSelector()
        self.links = {}
        self.rng = random.Random()
        self.stopping = None
        self.buffer = bytearray(FRAME_BUFFER)
        self.control = None
        self.wakeup_read = None

    def run(self):
        self.watch_signals()
        self.watch_stdin()
        self.listen()
        print(json.dumps({"ready": True, "control": self.control_path, "pid": os.getpid()}), flush=True)
        log("info", "relay ready", control=self.control_path)
        while self.stopping is None:
            timeout = self.release_due_frames()
            for key, _ in self.selector.select(timeout):
                try:
                    key.data()
                except Exception as error:  # a bug must not take the relay and its links down
                    log("error", f"event handler failed: {error!r}")
        log("info", f"relay stopping: {self.stopping}")

    def close(self):
        for name in list(self.links):
            try:
                self.stop_relaying(name)
            except Exception as error:  # keep restoring the others
                log("error", f"could not restore {name}: {error}", link=name)
        if self.control is not None:
            self.control.close()
            try:
                if stat.S_ISSOCK(os.lstat(self.control_path).st_mode):
                    os.unlink(self.control_path)
            except OSError:
                pass

    # Stop on a signal or when whoever started us goes away (stdin EOF).

    def watch_signals(self):
        self.wakeup_read, wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wakeup_write)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda number, _frame: self.stop(signal.Signals(number).name))
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, self.drain_wakeups)

    def drain_wakeups(self):
        try:
            while os.read(self.wakeup_read, 512):
                pass
        except BlockingIOError:
            pass

    def watch_stdin(self):
        try:
            os.set_blocking(0, False)
            self.selector.register(0, selectors.EVENT_READ, self.read_stdin)
        except (OSError, ValueError):
            # stdin is closed or a plain file (epoll refuses those): only signals stop us.
            pass

    def read_stdin(self):
        try:
            if os.read(0, 4096) == b"":
                self.stop("stdin closed")
        except BlockingIOError:
            pass
        except OSError:
            self.stop("stdin closed")

    def stop(self, reason):
        if self.stopping is None:
            self.stopping = reason

    # The control socket.

    def listen(self):
        try:
            if stat.S_ISSOCK(os.lstat(self.control_path).st_mode):
                os.unlink(self.control_path)  # left by a relay that was killed
        except FileNotFoundError:
            pass
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old_umask = os.umask(0o177)
        try:
            self.control.bind(self.control_path)
        finally:
            os.umask(old_umask)
        self.control.listen(16)
        self.control.setblocking(False)
        self.selector.register(self.control, selectors.EVENT_READ, self.accept)

    def accept(self):
        try:
            connection, _ = self.control.accept()
        except BlockingIOError:
            return
        connection.setblocking(False)
        client = {"socket": connection, "pending": b""}
        self.selector.register(connection, selectors.EVENT_READ, lambda: self.read_client(client))

    def read_client(self, client):
        connection = client["socket"]
        try:
            data = connection.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client(connection)
            return
        client["pending"] += data
        while b"\n" in client["pending"]:
            line, client["pending"] = client["pending"].split(b"\n", 1)
            if line.strip() and not self.answer(connection, self.handle_line(line)):
                return
        if len(client["pending"]) > MAX_REQUEST:
            self.answer(connection, {"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"})
            self.drop_client(connection)

    def answer(self, connection, reply):
        try:
            # Answers are small; a client that does not read them within a second is dropped.
            connection.settimeout(1.0)
            connection.sendall((json.dumps(reply) + "\n").encode())
            connection.setblocking(False)
            return True
        except OSError:
            self.drop_client(connection)
            return False

    def drop_client(self, connection):
        try:
            self.selector.unregister(connection)
        except (KeyError, ValueError):
            pass
        connection.close()

    def handle_line(self, line):
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise RequestError("a request is a JSON object")
            op = request.get("op")
            if op == "set":
                return {"ok": True, **self.set(request)}
            if op == "clear":
                return {"ok": True, **self.clear(request)}
            if op == "list":
                return {"ok": True, "links": [link.as_json() for link in self.links.values()]}
            raise RequestError(f"unknown op {json.dumps(op)}: use set, clear or list")
        except RequestError as error:
            return {"ok": False, "error": str(error)}
        except ValueError as error:
            return {"ok": False, "error": f"not JSON: {error}"}
        except Exception as error:  # a bug must not take the relay and its links down
            log("error", f"request failed: {error!r}")
            return {"ok": False, "error": f"internal error: {error}"}

    def set(self, request):
        name = link_name(request)
        bridge = request.get("bridge")
        if not isinstance(bridge, str) or not DEVICE_NAME.match(bridge):
            raise RequestError(f"bridge must be an interface name, got {json.dumps(bridge)}")
        impairment = Impairment.from_request(request)
        link = self.links.get(name)
        if link is None:
            link = RelayedLink.start(name, bridge)
            self.links[name] = link
            self.selector.register(link.packets, selectors.EVENT_READ, lambda: self.from_node(link))
            self.selector.register(link.tap, selectors.EVENT_READ, lambda: self.to_node(link))
            log("info", f"relaying {name} through {link.tap_name} in {bridge}", link=name, tap=link.tap_name)
        elif link.bridge != bridge:
            run_ip("link", "set", link.tap_name, "master", bridge)
            link.bridge = bridge
        link.impairment = impairment
        log("info", f"{name}: {json.dumps(impairment.as_json())}", link=name)
        return link.as_json()

    def clear(self, request):
        name = link_name(request)
        if name not in self.links:
            return {"link": name, "relayed": False}
        self.stop_relaying(name)
        log("info", f"{name} is back in its bridge", link=name)
        return {"link": name, "relayed": False}

    def stop_relaying(self, name):
        link = self.links.pop(name)
        for source in (link.packets, link.tap):
            try:
                self.selector.unregister(source)
            except (KeyError, ValueError):
                pass
        link.stop()

    # Frames.

    def from_node(self, link):
        """Frames the node sent: impair, then queue for the tap."""
        if link.packets is None:
            return  # cleared by an earlier event of the same wakeup
        for _ in range(BATCH):
            try:
                size, ancillary, _, address = link.packets.recvmsg_into([self.buffer], socket.CMSG_SPACE(AUXDATA.size))
            except BlockingIOError:
                return
            except OSError:
                link.counters["errors"] += 1  # e.g. a GSO type the virtio header cannot describe
                continue
            try:
                if address[2] == PACKET_OUTGOING:
                    continue
                if size < VNET_HDR.size + ETH_HLEN or size >= len(self.buffer):
                    link.counters["errors"] += 1
                    continue
                frame = restore_vlan_tag(bytes(self.buffer[:size]), ancillary)
                link.counters["fromNode"] += 1
                link.enqueue(frame, time.monotonic(), self.rng)
            except Exception:
                link.counters["errors"] += 1

    def to_node(self, link):
        """Frames the bridge sends towards the node: straight onto the link."""
        if link.tap is None:
            return
        for _ in range(BATCH):
            try:
                frame = os.read(link.tap.fileno(), FRAME_BUFFER)
            except BlockingIOError:
                return
            except OSError:
                link.counters["errors"] += 1
                return
            if len(frame) < VNET_HDR.size + ETH_HLEN:
                link.counters["errors"] += 1
                continue
            if link.send_to_node(frame):
                link.counters["toNode"] += 1
                if frame[1]:
                    link.counters["superFrames"] += 1

    def release_due_frames(self):
        """Writes every frame whose time has come; returns the wait until the next one."""
        now = time.monotonic()
        next_due = None
        for link in self.links.values():
            due = link.release(now + SEND_EARLY_S)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
        return None if next_due is None else max(0.0, next_due - time.monotonic())


class RelayedLink:
    @staticmethod
    def start(name, bridge):
        """Moves the link out of its bridge and a tap in; undoes what was done when a step fails."""
        details = link_details(name)
        require_device(bridge, "bridge")
        link = RelayedLink(name, bridge)
        try:
            link.tap = open_tap(link.tap_name)
            link.packets = open_packet_socket(name, details["ifindex"])
            link.hold_in_quarantine()
            # The tap gets the link's MAC address and MTU, so the bridge's own
            # address (the lowest port MAC unless set) and its MTU stay as they were.
            tap_settings = ["address", details["address"]] if details.get("address") else []
            run_ip("link", "set", link.tap_name, *tap_settings, "mtu", str(details["mtu"]), "master", bridge, "up")
            run_ip("link", "set", name, "up")
            return link
        except BaseException:
            link.stop()
            raise

    def __init__(self, name, bridge):
        self.name = name
        self.bridge = bridge
        suffix = name[len("yg-v") :]
        self.tap_name = "yg-r" + suffix
        self.quarantine = "yg-q" + suffix
        self.tap = None
        self.packets = None
        self.quarantined = False
        self.impairment = Impairment()
        self.queue = []  # heap of (send time, sequence, frame)
        self.sequence = 0
        self.busy_until = 0.0
        self.counters = {
            "fromNode": 0,
            "relayed": 0,
            "lost": 0,
            "overlimit": 0,
            "toNode": 0,
            "superFrames": 0,
            "errors": 0,
        }

    def as_json(self):
        return {
            "link": self.name,
            "tap": self.tap_name,
            "bridge": self.bridge,
            "netem": self.impairment.as_json(),
            "counters": {**self.counters, "queued": len(self.queue)},
        }

    def enqueue(self, frame, now, rng):
        if self.impairment.lost(rng):
            self.counters["lost"] += 1
            return
        if len(self.queue) >= QUEUE_LIMIT:
            self.counters["overlimit"] += 1
            return
        size = wire_bytes(frame[: VNET_HDR.size], memoryview(frame)[VNET_HDR.size :])
        when, self.busy_until = self.impairment.send_time(now, size, self.busy_until, rng)
        self.sequence += 1
        heapq.heappush(self.queue, (when, self.sequence, frame))

    def release(self, until):
        """Writes the frames due by `until` to the tap; returns when the next one is due."""
        while self.queue and self.queue[0][0] <= until:
            _, _, frame = heapq.heappop(self.queue)
            try:
                os.write(self.tap.fileno(), frame)
                self.counters["relayed"] += 1
                if frame[1]:
                    self.counters["superFrames"] += 1
            except OSError:
                self.counters["errors"] += 1  # the tap refused it (a bad virtio header)
        return self.queue[0][0] if self.queue else None

    def send_to_node(self, frame):
        for attempt in range(2):
            try:
                self.packets.send(frame)
                return True
            except (BlockingIOError, InterruptedError):
                if attempt == 0:
                    # The socket's send buffer is full: wait briefly rather than drop.
                    poller = select.poll()
                    poller.register(self.packets, select.POLLOUT)
                    poller.poll(50)
            except OSError:
                break
        self.counters["errors"] += 1
        return False

    def hold_in_quarantine(self):
        """Takes the link out of its bridge into a bridge of its own, yg-q<N>, that stays down.

        Out of the bridge the link must not reach the DC namespace's own IP
        stack, or the stack would answer what the node sends to the DC's
        addresses directly, past the impairment, and twice. A port of a bridge
        that is down drops every frame it receives, after our packet socket
        has had its copy; sending on the link is not affected. A quarantine
        left by a relay that was killed is replaced, which frees the link.
        """
        if device_exists(self.quarantine):
            run_ip("link", "del", self.quarantine)
        run_ip("link", "add", self.quarantine, "type", "bridge")
        self.quarantined = True
        run_ip("link", "set", self.name, "master", self.quarantine)

    def stop(self):
        """Closes the tap (which deletes it) and puts the link back into its bridge."""
        self.queue.clear()
        if self.tap is not None:
            self.tap.close()
            self.tap = None
        if self.packets is not None:
            self.packets.close()  # also ends the promiscuous mode it asked for
            self.packets = None
        if self.quarantined:
            try:
                # A link deleted meanwhile (its node went away) has nothing to go back to.
                if device_exists(self.name):
                    run_ip("link", "set", self.name, "master", self.bridge)
            finally:
                run_ip("link", "del", self.quarantine)
                self.quarantined = False


def link_name(request):
    name = request.get("link")
    if not isinstance(name, str) or not LINK_NAME.match(name):
        raise RequestError(f'link must be a DC-side link name starting with "yg-v" or "yg-t", got {json.dumps(name)}')
    return name


def open_tap(name):
    tap = open("/dev/net/tun", "r+b", buffering=0)
    try:
        fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
        # Offer TSO so the bridge hands us super-frames instead of segmenting
        # each one in the kernel before we copy it.
        fcntl.ioctl(tap, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
        os.set_blocking(tap.fileno(), False)
        return tap
    except OSError as error:
        tap.close()
        raise RequestError(f"cannot create tap {name}: {error.strerror}") from error


def open_packet_socket(link, ifindex):
    # Protocol 0 until bound, so no frame of another device slips in first.
    packets = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
    try:
        packets.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        packets.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        try:
            packets.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # before Linux 4.20: the pkttype check drops them instead
        try:
            packets.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 * 1024 * 1024)
        except OSError:
            pass
        packets.bind((link, ETH_P_ALL))
        packets.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b""))
        packets.setblocking(False)
        return packets
    except OSError as error:
        packets.close()
        raise RequestError(f"cannot open a packet socket on {link}: {error.strerror}") from error


def restore_vlan_tag(frame, ancillary):
    """Puts back the 802.1Q tag that the kernel moved from the frame into metadata.

    The virtio header's csum_start already counts the tag (the kernel expects
    it to be put back); hdr_len does not.
    """
    for level, kind, data in ancillary:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(data) < AUXDATA.size:
            continue
        status, _, _, _, _, tci, tpid = AUXDATA.unpack_from(data)
        if not status & TP_STATUS_VLAN_VALID:
            return frame
        if not status & TP_STATUS_VLAN_TPID_VALID or tpid == 0:
            tpid = ETH_P_8021Q
        flags, gso_type, hdr_len, gso_size, csum_start, csum_offset = VNET_HDR.unpack_from(frame)
        if gso_type:
            hdr_len += 4
        mac = VNET_HDR.size + 12
        header = VNET_HDR.pack(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)
        return header + frame[VNET_HDR.size : mac] + struct.pack("!HH", tpid, tci) + frame[mac:]
    return frame


# ---------------------------------------------------------------------------
# iproute2.


def run_ip(*args):
    result = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RequestError(f"ip {' '.join(args)}: {result.stderr.strip() or f'exit code {result.returncode}'}")
    return result.stdout


def link_details(name):
    try:
        found = json.loads(run_ip("-j", "link", "show", "dev", name))
    except RequestError as error:
        raise RequestError(f"no link {name} in this namespace ({error})") from error
    if not found:
        raise RequestError(f"no link {name} in this namespace")
    return found[0]


def require_device(name, what):
    if not device_exists(name):
        raise RequestError(f"no {what} {name} in this namespace")


def device_exists(name):
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except Exception as error:
        log("error", f"relay failed: {error}")
        sys.exit(1)
