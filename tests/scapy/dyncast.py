#!/usr/bin/python3
"""Inputs of the dynamic-anycast golden tests (tests/dyncast.rs), for the D-Routers of the
seed's figure 3 as config/dyncast-itr.toml and config/dyncast-etr.toml set them up:

  Host_1 ---lan--- ITR_1 ---wan---+--- ETR_2 (192.0.2.2, 2001:db8:ff::2) ---site
                                  +--- ETR_3, ETR_4, ETR_5

usage: dyncast.py hosts OUT.pcap                 Host_1's flows to the DSEIDs, plain IP
       dyncast.py underlay IN.pcap OUT.pcap NODE  the underlay: what reaches ETR NODE (02)
       dyncast.py malformed-etr OUT.pcap         hand-built LISP packets to ETR_2

`hosts` prints one JSON line per frame: seq, flow, dst (the DSEID or plain destination).
Every host packet is UDP to port 7777 with the payload b"SRG" + 4-byte sequence number +
filler (frames.payload), so the Rust test matches each frame on every link to the one
sent.

`malformed-etr` prints one line per frame, in order: `drop <reason>` (the srgate drop
reason ETR_2 must count it under) or `forward <json>` (seq, and the inner packet ETR_2
must deliver, in hex).
"""
import json
import struct
import sys

from scapy.all import Ether, IP, IPv6, UDP, Raw, rdpcap

from frames import UDP_DPORT, payload, write


def mac(node, peer):
    """The MAC of `node`'s interface toward `peer` (the configs' convention)."""
    return f"02:5e:00:00:{node}:{peer}"


HOSTS, ITR, ETR2 = "aa", "01", "02"
DSEID_A, DSEID_B, DSEID_C, DSEID_D = "198.51.100.10", "2001:db8:5e::b", "2001:db8:5e::c", "198.51.100.99"
PLAIN = "203.0.113.1"
RLOC1, RLOC2, RLOC2_6 = "192.0.2.1", "192.0.2.2", "2001:db8:ff::2"
LISP_PORT = 4341

# (destination, flows, packets per flow).
HOST_FLOWS = [(DSEID_A, 200, 3), (DSEID_B, 40, 2), (DSEID_C, 10, 2), (DSEID_D, 5, 1),
              (PLAIN, 2, 2)]
TOS = [0x00, 0xb8, 0x2a, 0x01]


def host_addr(flow, v6):
    return f"2001:db8:a::{flow + 1:x}" if v6 else f"10.1.{flow >> 8}.{flow & 0xff}"


def host_packet(seq, flow, dst, tos=0, ttl=64, size=32):
    udp = UDP(sport=30000 + flow, dport=UDP_DPORT) / Raw(payload(seq, size))
    if ":" in dst:
        return IPv6(src=host_addr(flow, True), dst=dst, tc=tos, hlim=ttl) / udp
    return IP(src=host_addr(flow, False), dst=dst, tos=tos, ttl=ttl, id=seq & 0xffff) / udp


def hosts():
    flows = []
    for dst, n, packets in HOST_FLOWS:
        for _ in range(n):
            flows.append((len(flows), dst, packets))
    frames, manifest, seq = [], [], 0
    # Round robin over the flows: a flow's packets are far apart in the capture.
    for round_ in range(max(p for _, _, p in flows)):
        for flow, dst, packets in flows:
            if round_ >= packets:
                continue
            pkt = host_packet(seq, flow, dst, TOS[flow % len(TOS)], size=20 + 29 * (seq % 11))
            raw = bytes(Ether(src=mac(HOSTS, ITR), dst=mac(ITR, HOSTS)) / pkt)
            frames.append(raw + b"\x00" * max(0, 60 - len(raw)))
            manifest.append({"seq": seq, "flow": flow, "dst": dst})
            seq += 1
    return frames, manifest


def underlay(frames, node):
    """An L2 underlay: the frames addressed to ETR `node`'s MAC toward ITR_1."""
    want = bytes.fromhex(mac(node, ITR).replace(":", ""))
    return [bytes(f) for f in frames if bytes(f)[:6] == want]


# ---------------------------------------------------------------------------------------
# Malformed LISP at ETR_2
# ---------------------------------------------------------------------------------------

def lisp_header(iid=None, nonce=None):
    flags = (0x08 if iid is not None else 0) | (0x80 if nonce is not None else 0)
    word1 = (flags << 24) | (nonce or 0)
    word2 = (iid << 8) if iid is not None else 0
    return struct.pack("!II", word1, word2)


def to_etr(udp_payload, dst=RLOC2, sport=0xc123, dport=LISP_PORT):
    if ":" in dst:
        outer = IPv6(src="2001:db8:ff::1", dst=dst, hlim=64)
    else:
        outer = IP(src=RLOC1, dst=dst, ttl=64, flags="DF")
    pkt = outer / UDP(sport=sport, dport=dport) / Raw(udp_payload)
    return bytes(Ether(src=mac(ITR, ETR2), dst=mac(ETR2, ITR)) / pkt)


def malformed_etr():
    frames, lines = [], []
    seq = [5000]

    def inner(v6=False):
        s = seq[0]
        seq[0] += 1
        return s, bytes(host_packet(s, 7, DSEID_B if v6 else DSEID_A, ttl=63))

    def forward(frame_of_inner, v6=False):
        s, pkt = inner(v6)
        frames.append(frame_of_inner(pkt))
        lines.append("forward " + json.dumps({"seq": s, "inner": pkt.hex()}))

    def drop(reason, frame):
        frames.append(frame)
        lines.append(f"drop {reason}")

    forward(lambda p: to_etr(lisp_header() + p))
    drop("dyncast-lisp-truncated", to_etr(b"\x00\x00\x00\x00"))
    drop("dyncast-lisp-truncated", to_etr(b""))
    drop("dyncast-lisp-truncated", to_etr(lisp_header()[:7], dst=RLOC2_6))
    forward(lambda p: to_etr(lisp_header(iid=7) + p, dst=RLOC2_6), v6=True)
    drop("dyncast-bad-inner", to_etr(lisp_header() + b"\x50" + b"\x00" * 27))
    drop("dyncast-bad-inner", to_etr(lisp_header()))
    # Both fragments of a LISP datagram to ETR_2 (no reassembly).
    _, pkt = inner()
    udp = bytes(UDP(sport=0xc001, dport=LISP_PORT) / Raw(lisp_header() + pkt))
    first = Ether(src=mac(ITR, ETR2), dst=mac(ETR2, ITR)) / IP(
        src=RLOC1, dst=RLOC2, ttl=64, flags="MF", frag=0, id=77, proto=17) / Raw(udp[:32])
    later = Ether(src=mac(ITR, ETR2), dst=mac(ETR2, ITR)) / IP(
        src=RLOC1, dst=RLOC2, ttl=64, flags=0, frag=4, id=77, proto=17) / Raw(udp[32:])
    drop("dyncast-fragment", bytes(first))
    # The later fragment has no UDP header, but it is UDP to ETR_2's own RLOC: without
    # reassembly it is dropped too, never forwarded onward.
    drop("dyncast-fragment", bytes(later))
    forward(lambda p: to_etr(lisp_header(nonce=0xabcdef) + p))
    # LISP to an address that is not one of ETR_2's RLOCs: not decapsulated; ETR_2 has no
    # cross-connect.
    drop("no-route", to_etr(lisp_header() + inner()[1], dst="192.0.2.3"))
    forward(lambda p: to_etr(lisp_header() + p, dst=RLOC2_6), v6=False)
    return frames, lines


def main():
    cmd = sys.argv[1]
    if cmd == "hosts":
        frames, manifest = hosts()
        write(sys.argv[2], frames)
        for m in manifest:
            print(json.dumps(m))
    elif cmd == "underlay":
        write(sys.argv[3], underlay(rdpcap(sys.argv[2]), sys.argv[4]))
    elif cmd == "malformed-etr":
        frames, lines = malformed_etr()
        write(sys.argv[2], frames)
        print("\n".join(lines))
    else:
        sys.exit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
