#!/usr/bin/python3
"""Inputs of the STAMP reflector tests (tests/stamp.rs), for node D of
config/stamp-reflector.toml (the draft's figure 2: Session-Sender A, reflector D).

usage: stamp.py SUITE OUT.pcap

Suites:
  valid      IPv4 and IPv6 Session-Sender packets (RFC 8762, 44 bytes), TWAMP-Light ones
             shorter than 44 bytes, one longer (padding returned untouched), VLAN-tagged,
             IPv4 without UDP checksum, TTL 1
  srv6       SRv6 test packets with the P-flag and a path segment (the draft's figures 4
             and 5), without the P-flag, and one in transit (Segments Left 1)
  malformed  one malformation per frame (each a drop reason srgate must count), frames not
             for the reflector, each followed by a valid test packet

Every Session-Sender packet carries a sequence number and T1 = the current time in NTP
format; (UDP source port, sequence number) is unique in a suite, so the Rust test matches
each reply to its request.

stdout: one JSON object per input frame, in order:
  {"fate": "reflect" | "drop" | "xconnect", "reason": drop reason or null,
   "family": 4 | 6, "src", "dst": the test packet's (innermost) IP addresses,
   "sport": UDP source port, "seq": Sequence Number (or null), "ttl": the outermost
   TTL / hop limit, "vlan": VLAN id or null, "eth_src", "eth_dst",
   "payload_len": UDP payload bytes, "tail": hex of the payload after byte 44 ("" if none),
   "tclass", "flow": IPv6 traffic class / flow label (or null),
   "reply": for "reflect", what the reply's IPv6 headers must be:
            {"outer_dst": destination of the outermost header,
             "srh": null or {"addrs": [Segment List[0], ...], "segleft": n},
             "encap": true when the reply has an inner IPv6 header}}
"""
import json
import struct
import sys
import time

from scapy.all import Dot1Q, Ether, IP, IPv6, IPv6ExtHdrSegmentRouting, UDP, Raw

from frames import write

STAMP_PORT = 862
P_FLAG = 0x40

A_MAC = "02:5e:00:00:aa:dd"  # A's interface toward D
D_MAC = "02:5e:00:00:dd:aa"  # D's interface toward A

A4, A6 = "192.0.2.1", "2001:db8:a::1"
D4, D6 = "192.0.2.4", "2001:db8:d::1"
SID = {n: f"2001:db8:{n[0]}::{n}" for n in ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2", "e1", "e2"]}
PATH1, PATH3 = "2001:db8:ffff::1", "2001:db8:ffff::3"
UNKNOWN_PATH = "2001:db8:ffff::99"

# Sender Error Estimate: S = 1 (synchronized), scale 0, multiplier 1.
SENDER_ERROR_ESTIMATE = 0x8001

NTP_UNIX_OFFSET = 2208988800


def ntp_now():
    """The current time as a 64-bit NTP timestamp (bytes)."""
    t = time.time()
    sec = int(t)
    return struct.pack("!II", sec + NTP_UNIX_OFFSET, int((t - sec) * (1 << 32)))


def sender_packet(seq, size=44, tail=b""):
    """A Session-Sender test packet: seq, T1, Error Estimate, then MBZ zeros up to `size`
    bytes (14 = TWAMP-Light's bare fields), then `tail` (padding / TLVs)."""
    fields = struct.pack("!I", seq) + ntp_now() + struct.pack("!H", SENDER_ERROR_ESTIMATE)
    return fields[:size] + b"\x00" * max(0, size - len(fields)) + tail


def eth(vlan=None):
    e = Ether(src=A_MAC, dst=D_MAC)
    return e / Dot1Q(vlan=vlan) if vlan is not None else e


def pad60(raw):
    """What a NIC sends: frames shorter than 60 bytes padded with zeros."""
    return raw + b"\x00" * max(0, 60 - len(raw))


def srh(addrs, flags=P_FLAG, segleft=0, nh=None):
    """An SRH with `addrs` as Segment List[0..]; flags written into the Flags byte."""
    h = IPv6ExtHdrSegmentRouting(addresses=addrs, segleft=segleft, lastentry=len(addrs) - 1)
    if nh is not None:
        h.nh = nh
    return h, flags


def build(layers, srh_flags=None):
    """bytes(layers), with the SRH's Flags byte set to `srh_flags` (scapy names the bits
    after drafts; the byte is written directly). Checksums are computed before."""
    raw = bytearray(bytes(layers))
    if srh_flags is not None:
        srh_at = 14 + 40  # untagged Ethernet, then the IPv6 header
        assert raw[srh_at + 2] == 4, "routing type 4"
        raw[srh_at + 5] = srh_flags
    return bytes(raw)


class Suite:
    def __init__(self):
        self.frames = []
        self.manifest = []

    def add(self, raw, fate, reason=None, **info):
        self.frames.append(raw)
        entry = {"fate": fate, "reason": reason, "family": None, "src": None, "dst": None,
                 "sport": None, "seq": None, "ttl": None, "vlan": None, "eth_src": A_MAC,
                 "eth_dst": D_MAC, "payload_len": None, "tail": "", "tclass": None,
                 "flow": None, "reply": None}
        entry.update(info)
        if fate != "reflect":
            entry["reply"] = None
        self.manifest.append(entry)

    def v4(self, seq, sport=40001, dst=D4, ttl=64, size=44, tail=b"", vlan=None, chksum=None,
           fate="reflect", reason=None, frag=False):
        payload = sender_packet(seq, size, tail)
        u = UDP(sport=sport, dport=STAMP_PORT)
        if chksum is not None:
            u.chksum = chksum
        ip = IP(src=A4, dst=dst, ttl=ttl, flags="MF" if frag else 0)
        raw = pad60(bytes(eth(vlan) / ip / u / Raw(payload)))
        self.add(raw, fate, reason, family=4, src=A4, dst=dst, sport=sport, seq=seq, ttl=ttl,
                 vlan=vlan, payload_len=len(payload), tail=tail.hex())

    def v6(self, seq, sport=40003, dst=D6, hlim=64, size=44, tail=b"", tc=0, fl=0, chksum=None,
           fate="reflect", reason=None):
        payload = sender_packet(seq, size, tail)
        u = UDP(sport=sport, dport=STAMP_PORT)
        if chksum is not None:
            u.chksum = chksum
        raw = pad60(bytes(eth() / IPv6(src=A6, dst=dst, hlim=hlim, tc=tc, fl=fl) / u / Raw(payload)))
        self.add(raw, fate, reason, family=6, src=A6, dst=dst, sport=sport, seq=seq, ttl=hlim,
                 payload_len=len(payload), tail=tail.hex(), tclass=tc, flow=fl,
                 reply={"outer_dst": A6, "srh": None, "encap": False})

    def srv6(self, seq, segs, flags=P_FLAG, encap=False, sport=40005, hlim=61, segleft=0,
             fate="reflect", reason=None, reply=None, size=44, cut_srh_at=None):
        """A's test packet to D over an SRv6 policy: Segment List `segs` (SRH order),
        Segments Left `segleft`; figure 5 (UDP right after the SRH) or figure 4 (`encap`:
        SRH, then an inner IPv6 header src A dst D)."""
        payload = sender_packet(seq, size)
        u = UDP(sport=sport, dport=STAMP_PORT) / Raw(payload)
        h, fl = srh(segs, flags, segleft, nh=41 if encap else None)
        outer = IPv6(src=A6, dst=segs[segleft], hlim=hlim)
        if encap:
            pkt = eth() / outer / h / IPv6(src=A6, dst=D6, hlim=64) / u
        else:
            pkt = eth() / outer / h / u
        raw = build(pkt, fl)
        if cut_srh_at is not None:
            # The IPv6 payload ends inside the SRH's segment list.
            b = bytearray(raw[:14 + 40 + cut_srh_at])
            b[14 + 4:14 + 6] = struct.pack("!H", cut_srh_at)
            raw = bytes(b)
        self.add(raw, fate, reason, family=6, src=A6, dst=D6, sport=sport, seq=seq, ttl=hlim,
                 payload_len=len(payload), tclass=0, flow=0, reply=reply)


def valid():
    s = Suite()
    # IPv4 session: RFC 8762 44-byte packets with assorted TTLs (1 included: a test
    # packet to D is answered, never TTL-expired), one VLAN-tagged, one without UDP
    # checksum (0 = none over IPv4), one with 16 bytes of padding after the 44.
    s.v4(0, ttl=64)
    s.v4(1, ttl=63)
    s.v4(2, ttl=1)
    s.v4(3, ttl=250, vlan=100)
    s.v4(4, ttl=64, chksum=0)
    s.v4(5, ttl=33, size=44, tail=bytes(range(0xA0, 0xB0)))
    # TWAMP-Light senders: 14 bytes (padded to 60 on the wire) and 30 bytes.
    s.v4(0, sport=40002, ttl=64, size=14)
    s.v4(1, sport=40002, ttl=64, size=30)
    # IPv6 session, traffic class and flow label kept in the reply.
    s.v6(0, hlim=64, tc=0xB8, fl=0x12345)
    s.v6(1, hlim=17)
    s.v6(2, hlim=255, size=20)
    s.v6(3, hlim=64, size=14)
    # To one of D's SIDs (an own address too): the reply comes from the SID.
    s.v6(0, sport=40004, dst=SID["d1"], hlim=60)
    s.v6(4, hlim=64)
    s.v4(6, ttl=64)
    return s


def reply_over(sender, reverse, own):
    """The expected reply's SRH over `reverse` (travel order): leading own segments are
    consumed by D."""
    addrs = [sender] + list(reversed(reverse))
    sl = len(reverse)
    for seg in reverse:
        if seg in own:
            sl -= 1
        else:
            break
    return {"srh": {"addrs": addrs, "segleft": sl}, "outer_dst": addrs[sl]}


OWN = {D6, SID["d1"], SID["d2"]}
REVERSE1 = [SID["d1"], SID["c1"], SID["b1"]]
REVERSE3 = [SID["d2"], SID["e1"]]
LIST1 = [D6, SID["c2"], SID["b2"], SID["a1"], PATH1]
LIST3 = [D6, SID["e2"], SID["a2"], PATH3]


def srv6():
    s = Suite()
    r1 = reply_over(A6, REVERSE1, OWN)
    r3 = reply_over(A6, REVERSE3, OWN)
    # Figure 5: A's list 1 with its path segment, UDP right after the SRH.
    s.srv6(0, LIST1, reply=dict(r1, encap=False))
    s.srv6(1, LIST1, hlim=40, reply=dict(r1, encap=False))
    # Figure 4: the same, encapsulated (SRH next header 41, inner IPv6 A -> D).
    s.srv6(2, LIST1, encap=True, hlim=59, reply=dict(r1, encap=True))
    # A's list 2 (path segment SID-Path-3).
    s.srv6(3, LIST3, hlim=62, reply=dict(r3, encap=False))
    s.srv6(4, LIST3, encap=True, hlim=62, reply=dict(r3, encap=True))
    # No P-flag (another flag bit only): answered as plain IPv6, no SRH in the reply,
    # encapsulated or not.
    plain = {"outer_dst": A6, "srh": None, "encap": False}
    s.srv6(5, LIST1, flags=0x80, hlim=61, reply=plain)
    s.srv6(6, LIST1, flags=0, encap=True, hlim=61, reply=plain)
    # Segments Left 1: D is not the last segment (destination SID-C2 is not D's): SRv6
    # transit, not for the reflector; the cross-connect forwards it.
    s.srv6(7, LIST1, segleft=1, fate="xconnect")
    s.srv6(8, LIST1, reply=dict(r1, encap=False))
    return s


def malformed():
    s = Suite()
    seq = iter(range(100, 1000))
    s.v4(next(seq), sport=40009)
    # Fewer than 14 bytes of STAMP payload, IPv4 and IPv6.
    s.v4(next(seq), sport=40009, size=10, fate="drop", reason="stamp-too-short")
    s.v4(next(seq), sport=40009)
    s.v6(next(seq), sport=40010, size=13, fate="drop", reason="stamp-too-short")
    s.v4(next(seq), sport=40009)
    # Wrong UDP checksum; over IPv6 a zero checksum too (RFC 8200).
    s.v4(next(seq), sport=40009, chksum=0x1234, fate="drop", reason="stamp-bad-checksum")
    s.v6(next(seq), sport=40010)
    s.v6(next(seq), sport=40010, chksum=0, fate="drop", reason="stamp-bad-checksum")
    s.v6(next(seq), sport=40010)
    # A first fragment to D's STAMP port: no reassembly.
    s.v4(next(seq), sport=40009, frag=True, fate="drop", reason="stamp-fragment")
    s.v4(next(seq), sport=40009)
    # SRH cut short: the IPv6 payload ends inside the segment list (parser's drop).
    s.srv6(next(seq), LIST1, cut_srh_at=40, fate="drop", reason="srh-truncated")
    s.v4(next(seq), sport=40009)
    # P-flag with Last Entry 0: no room for a path segment.
    s.srv6(next(seq), [D6], fate="drop", reason="stamp-bad-path-segment")
    s.v6(next(seq), sport=40010)
    # P-flag with a path segment D has no reverse path for.
    s.srv6(next(seq), [D6, SID["c2"], SID["b2"], SID["a1"], UNKNOWN_PATH], fate="drop",
           reason="stamp-no-reverse-path")
    s.srv6(next(seq), LIST1, reply=dict(reply_over(A6, REVERSE1, OWN), encap=False))
    # UDP 862 to an address that is not D's: not reflected, cross-connected.
    s.v4(next(seq), sport=40009, dst="192.0.2.99", fate="xconnect")
    s.v6(next(seq), sport=40010, dst="2001:db8:d::99", fate="xconnect")
    s.v4(next(seq), sport=40009)
    # From port 862 to D (a reply, e.g. of D's own sender): never reflected again.
    raw = bytes(eth() / IP(src=A4, dst=D4, ttl=64) / UDP(sport=STAMP_PORT, dport=40000)
                / Raw(sender_packet(7)))
    s.add(raw, "xconnect", family=4, src=A4, dst=D4, sport=STAMP_PORT, ttl=64)
    s.v4(next(seq), sport=40009)
    return s


def main():
    suite, out = sys.argv[1], sys.argv[2]
    builders = {"valid": valid, "srv6": srv6, "malformed": malformed}
    if suite not in builders:
        sys.exit(f"unknown suite {suite!r}")
    s = builders[suite]()
    write(out, s.frames)
    for m in s.manifest:
        print(json.dumps(m))


if __name__ == "__main__":
    main()
