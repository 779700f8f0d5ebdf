#!/usr/bin/python3
"""Inputs of the service-FIB golden tests (tests/service.rs), for the PEs of the seed's
figures 4 to 6 as config/service-pe1.toml and config/service-pe4.toml set them up:

  clients ---access--- PE1 ---core--- PE2 (End fc00:0:2::e) --- PE4 ---dc--- 4,1..4,5
                        |dc                \------------ PE3
                        +--- 1,1, 1,2

usage: service.py clients OUT.pcap            the clients' requests to PE1's END.CG SID
       service.py p-router IN.pcap OUT.pcap   PE2: SRv6 End on what PE1 sent via PE2
       service.py flat OUT.pcap               requests encapsulated to PE4's END.C SID
       service.py malformed-pe1 OUT.pcap      hand-built packets to PE1's SIDs
       service.py malformed-pe4 OUT.pcap      hand-built packets to PE4's SIDs

`clients` and `flat` print one JSON line per frame: seq, flow, service (null: not a
request), client source address and port, traffic class, hop limit. Every client packet
is UDP to port 7777 with the payload b"SRG" + 4-byte sequence number + filler
(frames.payload), so the Rust test matches each frame on every link to the one sent.

The malformed suites print one line per frame, in order: `drop <reason>` (the srgate drop
reason the PE must count it under) or `forward <json>` (seq, and the link it must leave
on: "core" or "dc", and the instance or PE it must reach).
"""
import json
import struct
import sys

from scapy.all import (Ether, IP, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrSegmentRouting, UDP,
                       Raw, rdpcap)

from frames import UDP_DPORT, payload, write


def mac(node, peer):
    """The MAC of `node`'s interface toward `peer` (the configs' convention)."""
    return f"02:5e:00:00:{node}:{peer}"


CLIENTS, PE1, PE2, PE3, PE4 = "cc", "01", "02", "03", "04"

PE1_CG, PE1_CL = "fc00:0:1:c6::", "fc00:0:1:c1::"
PE2_END = "fc00:0:2::e"
PE4_CG, PE4_CL, PE4_C = "fc00:0:4:c6::", "fc00:0:4:c1::", "fc00:0:4:cc::"
PE1_SRC = "fc00:0:1::1"
FAR = "fc00:0:9::1"          # some other PE's address (outer source of hand-built frames)


def sid(block, service):
    """The SID of `block` (a /96 written as "x::") for `service` (its argument)."""
    return f"{block}{service >> 16:x}:{service & 0xffff:x}"


def client_addr(flow):
    return f"2001:db8:c::{0x10 + flow:x}"


def client_packet(seq, flow, dst, tc=0, hlim=64, size=48):
    return (IPv6(src=client_addr(flow), dst=dst, tc=tc, hlim=hlim)
            / UDP(sport=20000 + flow, dport=UDP_DPORT) / Raw(payload(seq, size)))


def frame(src_node, dst_node, pkt):
    return bytes(Ether(src=mac(src_node, dst_node), dst=mac(dst_node, src_node)) / pkt)


# ---------------------------------------------------------------------------------------
# The clients' requests (figure 4)
# ---------------------------------------------------------------------------------------

# (service or None, flows, packets per flow). None: plain IPv6 to a host in the core.
CLIENT_FLOWS = [(1, 8, 4), (2, 8, 3), (3, 16, 3), (None, 2, 2)]
TCS = [0x00, 0xb8, 0x28, 0x01]


def clients():
    flows = []
    for service, n, packets in CLIENT_FLOWS:
        for _ in range(n):
            flows.append((len(flows), service, packets))
    frames, manifest, seq = [], [], 0
    # Round robin over the flows, so that the packets of a flow are interleaved with
    # others (affinity is per flow, not per burst).
    for round_ in range(max(p for _, _, p in flows)):
        for flow, service, packets in flows:
            if round_ >= packets:
                continue
            tc = TCS[flow % len(TCS)]
            dst = sid(PE1_CG, service) if service is not None else f"2001:db8:99::{flow:x}"
            frames.append(frame(CLIENTS, PE1,
                                client_packet(seq, flow, dst, tc, size=24 + 37 * (seq % 9))))
            manifest.append({"seq": seq, "flow": flow, "service": service,
                             "src": client_addr(flow), "sport": 20000 + flow, "tc": tc,
                             "hlim": 64})
            seq += 1
    return frames, manifest


# ---------------------------------------------------------------------------------------
# PE2 as a plain SRv6 router: End on its SID, then forward toward PE4
# ---------------------------------------------------------------------------------------

def p_router(frames):
    """RFC 8754 End at PE2 for what PE1 steered through it: Segments Left - 1, the
    destination becomes Segment List[SL], hop limit - 1, PE2's MACs toward PE4. Frames
    not for PE2's End SID (e.g. steered straight to PE3) are not PE4's: dropped here."""
    out = []
    end = IPv6(dst=PE2_END).dst
    for f in frames:
        b = bytearray(bytes(f))
        if b[12:14] != b"\x86\xdd" or IPv6(bytes(b[14:54])).dst != end or b[20] != 43:
            continue
        srh = 54
        assert b[srh + 2] == 4, "routing type 4"
        sl = b[srh + 3]
        assert sl > 0, "End with Segments Left 0"
        sl -= 1
        b[srh + 3] = sl
        b[38:54] = b[srh + 8 + 16 * sl:srh + 8 + 16 * (sl + 1)]
        b[21] -= 1
        b[0:12] = bytes.fromhex(mac(PE4, PE2).replace(":", "")
                                + mac(PE2, PE4).replace(":", ""))
        out.append(bytes(b))
    return out


# ---------------------------------------------------------------------------------------
# The flat baseline (figure 5): requests encapsulated by PE1 to PE4's END.C SID
# ---------------------------------------------------------------------------------------

def flat(flows=6, packets=3):
    frames, manifest, seq = [], [], 0
    for round_ in range(packets):
        for flow in range(flows):
            inner = client_packet(seq, 100 + flow, sid("fc00:0:1:cc::", 1), size=40)
            outer = IPv6(src=PE1_SRC, dst=sid(PE4_C, 1), hlim=63, nh=41)
            frames.append(frame(PE2, PE4, outer / inner))
            manifest.append({"seq": seq, "flow": 100 + flow, "service": 1,
                             "src": client_addr(100 + flow), "sport": 20100 + flow, "tc": 0,
                             "hlim": 64})
            seq += 1
    return frames, manifest


# ---------------------------------------------------------------------------------------
# Malformed and edge-case packets
# ---------------------------------------------------------------------------------------

def encap(dst, inner, srh=None, src=FAR):
    """`inner` in an outer IPv6 header to `dst` (optionally with an SRH at SL 0)."""
    if srh is None:
        return IPv6(src=src, dst=dst, hlim=60, nh=41) / inner
    return (IPv6(src=src, dst=dst, hlim=60)
            / IPv6ExtHdrSegmentRouting(addresses=[dst] + srh, segleft=0, lastentry=len(srh),
                                       nh=41)
            / inner)


def fragments(outer_dst, inner, at=48):
    """The outer packet `outer_dst` | Fragment | `inner`, cut in two fragments."""
    body = bytes(inner)
    first = (IPv6(src=FAR, dst=outer_dst, hlim=60)
             / IPv6ExtHdrFragment(nh=41, offset=0, m=1, id=0x5e4)
             / Raw(body[:at]))
    later = (IPv6(src=FAR, dst=outer_dst, hlim=60)
             / IPv6ExtHdrFragment(nh=41, offset=at // 8, m=0, id=0x5e4)
             / Raw(body[at:]))
    return first, later


def inner_ipv4(seq):
    return IP(src="192.0.2.10", dst="198.51.100.1") / UDP(sport=1, dport=UDP_DPORT) / Raw(payload(seq))


class Suite:
    def __init__(self, src_node, dst_node):
        self.frames, self.lines = [], []
        self.nodes = (src_node, dst_node)
        self.seq = 1000

    def drop(self, reason, pkt):
        self.frames.append(frame(*self.nodes, pkt))
        self.lines.append(f"drop {reason}")

    def forward(self, pkt_of_seq, **what):
        seq = self.seq
        self.seq += 1
        self.frames.append(frame(*self.nodes, pkt_of_seq(seq)))
        self.lines.append("forward " + json.dumps(dict(seq=seq, **what)))

    def next_seq(self):
        seq = self.seq
        self.seq += 1
        return seq


def malformed_pe1():
    s = Suite(CLIENTS, PE1)
    ok = lambda seq: client_packet(seq, 50, sid(PE1_CG, 1))   # noqa: E731
    s.forward(ok, link="core", pe=4)
    s.drop("service-no-global-entry", client_packet(s.next_seq(), 51, sid(PE1_CG, 99)))
    s.forward(ok, link="core", pe=4)
    # The END.CG SID is not the last segment: another one follows in the SRH.
    s.drop("service-sid-not-last",
           IPv6(src=client_addr(52), dst=sid(PE1_CG, 1))
           / IPv6ExtHdrSegmentRouting(addresses=["fc00:0:9::2", sid(PE1_CG, 1)], segleft=1,
                                      lastentry=1, nh=17)
           / UDP(sport=20052, dport=UDP_DPORT) / Raw(payload(s.next_seq())))
    s.drop("ttl-expired", client_packet(s.next_seq(), 53, sid(PE1_CG, 1), hlim=1))
    s.forward(lambda seq: client_packet(seq, 54, sid(PE1_CG, 1), hlim=2), link="core", pe=4)
    # Encapsulated to END.CG: IPv4 inside, a truncated IPv6 inside, a fragmented outer.
    s.drop("service-bad-inner", encap(sid(PE1_CG, 1), inner_ipv4(s.next_seq())))
    s.drop("service-bad-inner", encap(sid(PE1_CG, 1), Raw(b"\x60" + b"\x00" * 20)))
    first, later = fragments(sid(PE1_CG, 1), client_packet(s.next_seq(), 55, sid(PE1_CG, 1)))
    s.drop("service-fragment", first)
    s.drop("service-fragment", later)
    # Valid encapsulated requests: decapsulated and steered again / served here.
    s.forward(lambda seq: encap(sid(PE1_CG, 1), client_packet(seq, 56, sid(PE1_CG, 1)),
                                srh=[FAR]), link="core", pe=4)
    s.forward(lambda seq: encap(sid(PE1_CL, 2), client_packet(seq, 57, sid(PE1_CG, 2))),
              link="dc", decap=True)
    # END.CL of PE1: its Local FIB has no service 3.
    s.drop("service-no-local-entry", client_packet(s.next_seq(), 58, sid(PE1_CL, 3)))
    s.forward(ok, link="core", pe=4)
    return s


def malformed_pe4():
    s = Suite(PE2, PE4)
    ok = lambda seq: encap(sid(PE4_CL, 1), client_packet(seq, 60, sid(PE1_CG, 1)))  # noqa: E731
    s.forward(ok, link="dc", instance=44)
    s.drop("service-no-local-entry",
           encap(sid(PE4_CL, 99), client_packet(s.next_seq(), 61, sid(PE1_CG, 99))))
    s.drop("service-no-instance",
           encap(sid(PE4_CL, 4), client_packet(s.next_seq(), 62, sid(PE1_CG, 4))))
    s.forward(ok, link="dc", instance=44)
    # The END.CL SID with one more segment to go.
    s.drop("service-sid-not-last",
           IPv6(src=PE1_SRC, dst=sid(PE4_CL, 1), hlim=60)
           / IPv6ExtHdrSegmentRouting(addresses=["fc00:0:9::2", sid(PE4_CL, 1)], segleft=1,
                                      lastentry=1, nh=41)
           / client_packet(s.next_seq(), 63, sid(PE1_CG, 1)))
    first, later = fragments(sid(PE4_CL, 1), client_packet(s.next_seq(), 64, sid(PE1_CG, 1)))
    s.drop("service-fragment", first)
    s.drop("service-fragment", later)
    s.drop("service-bad-inner", encap(sid(PE4_CL, 1), inner_ipv4(s.next_seq())))
    s.drop("service-bad-inner", encap(sid(PE4_CL, 1), Raw(b"\x60\x00\x00")))
    s.drop("ttl-expired",
           encap(sid(PE4_CL, 1), client_packet(s.next_seq(), 65, sid(PE1_CG, 1), hlim=1)))
    # Not for a computing SID, and PE4 has no cross-connect.
    s.drop("no-route", client_packet(s.next_seq(), 66, "2001:db8:99::1"))
    s.forward(lambda seq: encap(sid(PE4_CL, 1), client_packet(seq, 67, sid(PE1_CG, 1)),
                                srh=[PE2_END]), link="dc", instance=44)
    s.forward(ok, link="dc", instance=44)
    return s


def main():
    cmd = sys.argv[1]
    if cmd in ("clients", "flat"):
        frames, manifest = clients() if cmd == "clients" else flat()
        write(sys.argv[2], frames)
        for m in manifest:
            print(json.dumps(m))
    elif cmd == "p-router":
        write(sys.argv[3], p_router(rdpcap(sys.argv[2])))
    elif cmd in ("malformed-pe1", "malformed-pe4"):
        s = malformed_pe1() if cmd == "malformed-pe1" else malformed_pe4()
        write(sys.argv[2], s.frames)
        print("\n".join(s.lines))
    else:
        sys.exit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
