#!/usr/bin/python3
"""Inputs of the SRoU golden tests (tests/srou.rs), for the three-node overlay of
config/srou-{ingress,transit,egress}.toml:

  host A ---lan--- I ---wan--- R (NAT44) ---west--- T ---east--- E ---lan--- host B

usage: srou.py e2e OUT.pcap                host A's packets: every policy of I, plain IP
       srou.py acl OUT.pcap                host A's packets: allowed and refused tokens
       srou.py route IN.pcap OUT.pcap [nat]  router R: what it forwards to T
       srou.py cat OUT.pcap IN.pcap...     one link fed by several captures, in order
       srou.py malformed-transit OUT.pcap  hand-built SRoU packets to T's locators
       srou.py malformed-egress OUT.pcap   hand-built SRoU packets to E's locators

Every inner packet is UDP to port 7777 with the payload b"SRG" + 4-byte sequence number
+ filler (frames.payload), so the Rust test matches each frame on every link to the one
host A sent.

The malformed suites print one line per frame, in order: `drop <reason>` (the srgate drop
reason the node must count it under) or `forward <json>` (what the node must send: link,
outer addresses and ports, TTL, Segments Left, the whole expected SRoU header in hex).

scapy has no SRoU layer: the header is built here with struct, per the draft's layout
(NOTES.md, "SRoU data-plane format"):

  Magic (1) | SRoU Length (1) | Flow ID Length (1) | Protocol-ID (1) | Flow ID |
  Source Address (4 or 16) | Source Port (2) |
  Segment Type (1) | SR Hdr Len (1) | Last Entry (1) | Segments Left (1) |
  Segment List[0] .. [Last Entry] (address + port, 6 or 18 bytes each) | TLVs
"""
import ipaddress
import json
import struct
import sys

from scapy.all import Dot1Q, Ether, IP, IPv6, UDP, Raw, rdpcap

from frames import UDP_DPORT, payload, write


def mac(node, peer):
    """The MAC of `node`'s interface toward `peer` (the configs' convention)."""
    return f"02:5e:00:00:{node}:{peer}"


# Node ids in MACs.
A, I, R, T, E, B = "aa", "11", "99", "22", "33", "bb"

HOST_A4, HOST_A6 = "172.16.1.10", "2001:db8:1::10"
PORT = 8811
I4, I6 = "10.99.1.1", "2001:db8:99:1::1"
T4A, T4B, T6 = "10.99.2.1", "10.99.2.2", "2001:db8:99:2::1"
E4, E6 = "10.99.3.1", "2001:db8:99:3::1"
# R's NAT44 mapping of I's IPv4 locator.
NAT_FROM = (I4, PORT)
NAT_TO = ("198.51.100.77", 40001)


# ---------------------------------------------------------------------------------------
# Host A's packets
# ---------------------------------------------------------------------------------------

def inner(seq, dst, size, tos=0, ttl=64):
    """An inner IP packet from host A to `dst` with the test payload."""
    udp = UDP(sport=30000 + seq, dport=UDP_DPORT) / Raw(payload(seq, size))
    if ":" in dst:
        return IPv6(src=HOST_A6, dst=dst, tc=tos, hlim=ttl) / udp
    return IP(src=HOST_A4, dst=dst, tos=tos, ttl=ttl) / udp


def from_host_a(seq, dst, size, tos=0, vlan=None):
    """Host A's frame on the link A -> I; padded to 60 bytes like a NIC would."""
    eth = Ether(src=mac(A, I), dst=mac(I, A))
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    raw = bytes(eth / inner(seq, dst, size, tos))
    return raw + b"\x00" * max(0, 60 - len(raw))


# (inner destination, traffic class / TOS, VLAN tag or None), cycled by sequence number.
E2E_FLOWS = [
    ("172.16.20.1", 0x00, None),       # IPv4 over [T 10.99.2.1, E]
    ("172.16.20.2", 0xb8, None),       # IPv4 over [T 10.99.2.1, T 10.99.2.2, E]; DSCP EF
    ("2001:db8:20::1", 0x2a, None),    # IPv6 over the same three IPv4 locators
    ("2001:db8:20::2", 0x00, None),    # IPv6 over [T6, E6]
    ("172.16.20.5", 0x01, None),       # IPv4 over [T6, E6]; ECN ECT(1)
    ("172.16.20.1", 0x00, 100),        # 802.1Q-tagged on the LAN: encapsulated untagged
    ("192.0.2.50", 0x00, None),        # no policy: the IP path on every node
    ("2001:db8:50::1", 0x00, None),    # no policy, IPv6
]
SIZES = [16, 200, 1200, 23, 640, 57, 999, 300, 1400]


def e2e(rounds=6):
    frames = []
    for seq in range(rounds * len(E2E_FLOWS)):
        dst, tos, vlan = E2E_FLOWS[seq % len(E2E_FLOWS)]
        frames.append(from_host_a(seq, dst, SIZES[seq % len(SIZES)], tos, vlan))
    return frames


ACL_FLOWS = [
    "172.16.20.1",      # allowed everywhere
    "172.16.20.66",     # 0xdeadbeef: blocked at I
    "172.16.20.67",     # 0x0bad0002: not on T's permit list
    "2001:db8:20::2",   # allowed everywhere
    "172.16.20.68",     # 0x0bad0003: blocked at E (after two passes through T)
    "2001:db8:20::69",  # 0x0bad0004: on T's permit and block lists: blocked at T
    "172.16.20.2",      # allowed everywhere (three locators)
]


def acl(rounds=5):
    return [from_host_a(seq, ACL_FLOWS[seq % len(ACL_FLOWS)], 32 + seq)
            for seq in range(rounds * len(ACL_FLOWS))]


# ---------------------------------------------------------------------------------------
# Router R
# ---------------------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_checksum(src, dst, dgram):
    """RFC 768 / RFC 8200 checksum of a UDP datagram (its checksum field zeroed)."""
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if len(a) == 4:
        pseudo = a + b + struct.pack("!BBH", 0, 17, len(dgram))
    else:
        pseudo = a + b + struct.pack("!IxxxB", len(dgram), 17)
    c = csum(pseudo + dgram[:6] + b"\x00\x00" + dgram[8:])
    return c or 0xFFFF


def route(frame, nat):
    """What R sends to T for `frame`: MACs of the link R -> T, TTL / hop limit - 1, and
    with `nat`, I's IPv4 locator translated to NAT_TO (checksums recomputed; a zero UDP
    checksum stays zero)."""
    b = bytearray(frame)
    b[0:6] = bytes.fromhex(mac(T, R).replace(":", ""))
    b[6:12] = bytes.fromhex(mac(R, T).replace(":", ""))
    ethertype = struct.unpack("!H", b[12:14])[0]
    l3 = 14
    if ethertype == 0x0800:
        ihl = (b[l3] & 0x0F) * 4
        total = struct.unpack("!H", b[l3 + 2:l3 + 4])[0]
        b[l3 + 8] -= 1
        l4 = l3 + ihl
        src = str(ipaddress.ip_address(bytes(b[l3 + 12:l3 + 16])))
        if nat and b[l3 + 9] == 17 and (src, struct.unpack("!H", b[l4:l4 + 2])[0]) == NAT_FROM:
            b[l3 + 12:l3 + 16] = ipaddress.ip_address(NAT_TO[0]).packed
            b[l4:l4 + 2] = struct.pack("!H", NAT_TO[1])
            ulen = struct.unpack("!H", b[l4 + 4:l4 + 6])[0]
            if struct.unpack("!H", b[l4 + 6:l4 + 8])[0] != 0:
                dst = str(ipaddress.ip_address(bytes(b[l3 + 16:l3 + 20])))
                c = udp_checksum(NAT_TO[0], dst, bytes(b[l4:l4 + ulen]))
                b[l4 + 6:l4 + 8] = struct.pack("!H", c)
        b[l3 + 10:l3 + 12] = b"\x00\x00"
        b[l3 + 10:l3 + 12] = struct.pack("!H", csum(bytes(b[l3:l3 + ihl])))
        assert total <= len(b) - l3
    elif ethertype == 0x86DD:
        b[l3 + 7] -= 1
    return bytes(b)


# ---------------------------------------------------------------------------------------
# Hand-built SRoU packets
# ---------------------------------------------------------------------------------------

def addr(a):
    return ipaddress.ip_address(a).packed


def seg(a, port):
    return addr(a) + struct.pack("!H", port)


def srou(flow=b"\x00\x01\x23", proto=1, source=("192.168.1.10", 5000),
         segments=((E4, PORT), (T4A, PORT)), sl=None, le=None, magic=0x00, seg_type=None,
         length=None, flow_len=None, sr_hdr_len=None, tlvs=b"", raw_segments=None):
    """An SRoU header; every field may be forced to a lie. `segments` is Segment List[0]
    (the final node) first."""
    if seg_type is None:
        seg_type = proto
    seglist = raw_segments if raw_segments is not None else b"".join(seg(a, p) for a, p in segments)
    count = len(segments)
    le = count - 1 if le is None else le
    sl = le if sl is None else sl
    if sr_hdr_len is None:
        sr_hdr_len = 4 + len(seglist)
    body = flow + addr(source[0]) + struct.pack("!H", source[1])
    body += struct.pack("!BBBB", seg_type, sr_hdr_len, le, sl) + seglist + tlvs
    if length is None:
        length = 4 + len(body)
    fl = len(flow) if flow_len is None else flow_len
    return struct.pack("!BBBB", magic, length, fl, proto) + body


def oam(flow=b"\x00\x01\x23", oam_type=1):
    """An OAM header (Protocol-ID 0): STUN request, address and port zero."""
    body = flow + bytes([oam_type]) + bytes(6)
    return struct.pack("!BBBB", 0, 4 + len(body), len(flow), 0) + body


def outer(hdr, inner_pkt, dst=T4A, dport=PORT, src="203.0.113.9", sport=5555, ttl=64,
          checksum=True, l2=(T, R), **ip_kw):
    """Ethernet | outer IP | UDP | hdr | inner, on the link R -> T unless `l2` says."""
    v6 = ":" in dst
    data = hdr + bytes(inner_pkt)
    eth = Ether(src=mac(l2[1], l2[0]), dst=mac(l2[0], l2[1]))
    if v6:
        ip = IPv6(src=src, dst=dst, hlim=ttl, **ip_kw)
    else:
        ip_kw.setdefault("flags", "DF")
        ip = IP(src=src, dst=dst, ttl=ttl, **ip_kw)
    u = UDP(sport=sport, dport=dport)
    if not checksum and not v6:
        u.chksum = 0
    return bytes(eth / ip / u / Raw(data))


def inner_from_far(seq, dst="172.16.20.1", size=24):
    """The inner packet of a hand-built SRoU packet (from a host behind another ingress)."""
    return inner(seq, dst, size)


def expect_transit(frame, hdr, inner_pkt, src, sport, dst_locator, link, ttl, sl, alg_source):
    """The `forward` line for `frame`, a packet T relays: the outer fields and the SRoU
    header expected after T, the inner packet (unchanged) and tshark's UDP checksum status
    (1 good, 3 not present: a zero checksum stays zero)."""
    b = bytearray(hdr)
    flen = b[2]
    alen = 4 if b[3] == 1 else 16
    b[4 + flen + alen + 2 + 3] = sl
    if alg_source is not None:
        at = 4 + flen
        b[at:at + alen + 2] = addr(alg_source[0]) + struct.pack("!H", alg_source[1])
    return {"link": link, "src": src, "sport": sport, "dst": dst_locator[0],
            "dport": dst_locator[1], "ttl": ttl, "sl": sl, "magic": hdr[0],
            "srou": bytes(b).hex(), "inner": bytes(inner_pkt).hex(),
            "udp_csum": 1 if Ether(frame)[UDP].chksum else 3}


def malformed_transit():
    """(expectation, frame) pairs: every malformation T must drop, each followed by a
    valid packet it must forward."""
    out = []
    seq = [0]

    def nxt():
        seq[0] += 1
        return seq[0] - 1

    def bad(reason, frame):
        out.append((f"drop {reason}", frame))

    valid_kinds = []

    def valid():
        """A valid packet, cycling through the shapes T must relay."""
        s = nxt()
        k = len(valid_kinds) % 6
        valid_kinds.append(k)
        pkt = inner_from_far(s, size=20 + 7 * s)
        far = ("203.0.113.9", 5555)
        if k == 0:  # first hop, 2 segments, UDP checksum computed: ALG, to E
            h = srou()
            f = outer(h, pkt)
            e = (T4A, PORT, (E4, PORT), "east", 63, 0, far)
        elif k == 1:  # same with UDP checksum 0 and the alternative magic 0xFE
            h = srou(magic=0xFE, flow=b"\x00\xc0\xff\xee")
            f = outer(h, pkt, checksum=False)
            e = (T4A, PORT, (E4, PORT), "east", 63, 0, far)
        elif k == 2:  # first hop of 3 segments: ALG, to T's second locator (west)
            h = srou(segments=((E4, PORT), (T4B, PORT), (T4A, PORT)))
            f = outer(h, pkt, ttl=9)
            e = (T4A, PORT, (T4B, PORT), "west", 8, 1, far)
        elif k == 3:  # second hop (SL 1 < LE 2) on T's second locator: no ALG
            h = srou(segments=((E4, PORT), (T4B, PORT), (T4A, PORT)), sl=1,
                     source=("198.51.100.200", 4444))
            f = outer(h, pkt, dst=T4B, src=T4A, sport=PORT)
            e = (T4B, PORT, (E4, PORT), "east", 63, 0, None)
        elif k == 4:  # IPv6 locators, 2 segments, a TLV after the list (carried as is)
            h = srou(proto=2, flow=b"\x00\x04", source=("2001:db8:77::1", 6000),
                     segments=((E6, PORT), (T6, PORT)), tlvs=b"\x00\x04\xde\xad\xbe\xef")
            f = outer(h, pkt, dst=T6, src="2001:db8:77::9", sport=7000)
            e = (T6, PORT, (E6, PORT), "east", 63, 0, ("2001:db8:77::9", 7000))
        else:  # a 16-byte token, an IPv6 inner packet
            h = srou(flow=bytes(range(1, 17)))
            pkt = inner_from_far(s, dst="2001:db8:20::1", size=20 + s)
            f = outer(h, pkt, sport=5556)
            e = (T4A, PORT, (E4, PORT), "east", 63, 0, ("203.0.113.9", 5556))
        line = expect_transit(f, h, pkt, *e)
        out.append(("forward " + json.dumps(dict(line, seq=s)), f))

    def pkt():
        return inner_from_far(nxt())

    good = srou()
    three = ((E4, PORT), (T4B, PORT), (T4A, PORT))

    valid()
    bad("srou-bad-magic", outer(srou(magic=0x01), pkt()))
    valid()
    bad("srou-bad-magic", outer(srou(magic=0x80), pkt()))  # a QUIC long header
    valid()
    # Headers that lie about their length.
    bad("srou-bad-length", outer(srou(length=3), pkt()))
    valid()
    bad("srou-bad-length", outer(srou(length=12), pkt()))  # no room for Source + SR part
    valid()
    bad("srou-truncated", outer(srou(length=200), pkt()))  # longer than the UDP payload
    valid()
    bad("srou-truncated", outer(good[:3], b""))  # UDP payload shorter than the fixed part
    valid()
    f = bytearray(outer(good, pkt()))  # UDP length 14: the header cut after 6 bytes
    f[14 + 20 + 4:14 + 20 + 6] = struct.pack("!H", 14)
    f[14 + 20 + 6:14 + 20 + 8] = b"\x00\x00"
    bad("srou-truncated", bytes(f))
    valid()
    f = bytearray(outer(good, pkt()))  # UDP length beyond the IP payload
    f[14 + 20 + 4:14 + 20 + 6] = struct.pack("!H", len(f) - 14 - 20 + 1)
    bad("udp-bad-length", bytes(f))
    valid()
    f = bytearray(outer(good, pkt()))  # IP total length beyond the frame
    f[14 + 2:14 + 4] = struct.pack("!H", len(f) - 14 + 8)
    f[14 + 10:14 + 12] = b"\x00\x00"
    f[14 + 10:14 + 12] = struct.pack("!H", csum(bytes(f[14:34])))
    bad("ipv4-bad-total-len", bytes(f))
    valid()
    bad("srou-bad-flow-id-len", outer(srou(flow_len=40), pkt()))  # past SRoU Length
    valid()
    # A Flow ID of 250 bytes, beyond SRoU Length and the whole (57-byte) UDP payload.
    bad("srou-bad-flow-id-len", outer(srou(flow_len=250), pkt()))
    valid()
    bad("srou-bad-protocol", outer(srou(proto=3, seg_type=1), pkt()))
    valid()
    bad("srou-bad-protocol", outer(srou(proto=0x11, seg_type=1), pkt()))
    valid()
    # Protocol-ID 2 (IPv6 Source and locators) on an IPv4 outer header.
    bad("srou-family-mismatch", outer(srou(proto=2, source=("2001:db8::1", 1),
                                           segments=((E6, PORT), (T6, PORT))), pkt()))
    valid()
    # Protocol-ID 1 on an IPv6 outer header.
    bad("srou-family-mismatch", outer(srou(), pkt(), dst=T6, src="2001:db8:77::9"))
    valid()
    bad("srou-bad-segment-type", outer(srou(seg_type=3), pkt()))  # compressed list
    valid()
    bad("srou-bad-segment-type", outer(srou(seg_type=2), pkt()))  # IPv6 type, IPv4 ID
    valid()
    # Last Entry 2 (three segments) but SRoU Length covers two.
    bad("srou-segment-list-truncated", outer(srou(le=2, sl=2), pkt()))
    valid()
    # Truncated segment list: three announced, one and a half present, length honest.
    bad("srou-segment-list-truncated",
        outer(srou(segments=three, raw_segments=seg(E4, PORT) + seg(T4B, PORT)[:3]), pkt()))
    valid()
    bad("srou-sl-beyond-last", outer(srou(sl=2), pkt()))  # Segments Left 2, Last Entry 1
    valid()
    bad("srou-sl-beyond-last", outer(srou(sl=255, le=1), pkt()))
    valid()
    bad("srou-sl-zero", outer(srou(sl=0), pkt()))  # at a transit-only locator
    valid()
    bad("srou-sl-zero", outer(srou(segments=three, sl=0), pkt(), dst=T4B, src=T4A, sport=PORT))
    valid()
    bad("srou-sl-zero", outer(srou(proto=2, flow=b"\x00\x04", source=("2001:db8:77::1", 6000),
                                   segments=((E6, PORT), (T6, PORT)), sl=0), pkt(),
                              dst=T6, src="2001:db8:77::9"))
    valid()
    bad("srou-oam-unsupported", outer(oam(), pkt()))
    valid()
    bad("srou-fragment", outer(srou(), pkt(), flags="MF"))
    valid()
    # Next locator T has no adjacency for (no default_next_hop).
    bad("srou-no-next-hop", outer(srou(segments=(("10.77.0.1", PORT), (T4A, PORT))), pkt()))
    valid()
    # A service segment as the next segment at a transit-only locator.
    svc = b"\xff\x00\x00\x64\x00\x13"  # VNID 100, End.DT4
    bad("srou-bad-service-segment",
        outer(srou(segments=((E4, PORT), (T4A, PORT)), raw_segments=svc + seg(T4A, PORT)), pkt()))
    valid()
    bad("ttl-expired", outer(srou(), pkt(), ttl=1))
    valid()
    bad("srou-token-not-permitted", outer(srou(flow=b"\x0b\xad\x00\x02"), pkt()))
    valid()
    bad("srou-token-not-permitted", outer(srou(flow=b""), pkt()))  # no token at all
    valid()
    bad("srou-token-blocked", outer(srou(flow=b"\x0b\xad\x00\x04"), pkt()))
    valid()
    f = bytearray(outer(good, pkt()))
    f[14 + 10] ^= 0x5A
    bad("ipv4-bad-checksum", bytes(f))
    valid()
    return out


def malformed_egress():
    """(expectation, frame) pairs for E: drops, and valid packets E decapsulates, whose
    `forward` line carries the inner packet E must deliver."""
    out = []
    seq = [0]
    link = (E, T)

    def nxt():
        seq[0] += 1
        return seq[0] - 1

    def to_e(hdr, inner_pkt, **kw):
        kw.setdefault("dst", E4)
        kw.setdefault("src", T4A)
        kw.setdefault("sport", PORT)
        return outer(hdr, inner_pkt, l2=link, **kw)

    def last(**kw):
        """An SRoU header as E receives it: Segments Left 0."""
        kw.setdefault("sl", 0)
        kw.setdefault("source", ("198.51.100.77", 40001))
        return srou(**kw)

    n_valid = [0]

    def valid():
        s = nxt()
        k = n_valid[0] % 4
        n_valid[0] += 1
        if k == 0:
            p = inner_from_far(s, size=30 + s)
            f = to_e(last(), p)
        elif k == 1:  # IPv6 inner, magic 0xFE, UDP checksum 0
            p = inner_from_far(s, dst="2001:db8:20::1", size=30 + s)
            f = to_e(last(magic=0xFE), p, checksum=False)
        elif k == 2:  # IPv6 locators, a TLV
            p = inner_from_far(s, size=30 + s)
            f = to_e(last(proto=2, flow=b"\x00\x04", source=("2001:db8:99:1::1", PORT),
                          segments=((E6, PORT), (T6, PORT)), tlvs=b"\x00\x02\xab\xcd"),
                     p, dst=E6, src=T6)
        else:  # the ingress sent straight to E (Last Entry 0): ALG at E too
            p = inner_from_far(s, size=30 + s)
            f = to_e(last(segments=((E4, PORT),)), p, src="203.0.113.9", sport=5555)
        out.append(("forward " + json.dumps({"seq": s, "inner": bytes(p).hex()}), f))

    def pkt():
        return inner_from_far(nxt())

    valid()
    # The inner packet is neither IPv4 nor IPv6, or missing.
    bad_inner = bytearray(bytes(pkt()))
    bad_inner[0] = 0x55
    out.append(("drop srou-bad-inner", to_e(last(), bytes(bad_inner))))
    valid()
    out.append(("drop srou-bad-inner", to_e(last(), b"")))
    valid()
    out.append(("drop srou-bad-inner", to_e(last(), bytes(pkt())[:12])))  # IPv4, 12 bytes
    valid()
    # SRoU Length claims 2 more bytes (as TLVs): the inner packet seems to start at its
    # Total Length field, whose high nibble is 0.
    h = last()
    h = h[:1] + bytes([h[1] + 2]) + h[2:]
    out.append(("drop srou-bad-inner", to_e(h, pkt())))
    valid()
    # Segments Left 1 at E: transit to Segment List[0], for which E has no next hop.
    out.append(("drop srou-no-next-hop", to_e(last(sl=1), pkt())))
    valid()
    # A service segment: Segments Left 1 before it ends here. End.DT4 with an IPv6 inner
    # packet, End.DT2U (unsupported), and Segments Left 0 pointing at the service segment.
    svc4 = b"\xff\x00\x00\x64\x00\x13"
    svc2u = b"\xff\x00\x00\x64\x00\x17"
    two = ((E4, PORT), (T4A, PORT))
    out.append(("drop srou-bad-service-segment",
                to_e(last(segments=two, sl=1, raw_segments=svc4 + seg(E4, PORT)),
                     inner_from_far(nxt(), dst="2001:db8:20::1"))))
    valid()
    out.append(("drop srou-bad-service-segment",
                to_e(last(segments=two, sl=1, raw_segments=svc2u + seg(E4, PORT)), pkt())))
    valid()
    out.append(("drop srou-bad-service-segment",
                to_e(last(segments=two, sl=0, raw_segments=svc4 + seg(E4, PORT)), pkt())))
    valid()
    out.append(("drop srou-oam-unsupported", to_e(oam(), pkt())))
    valid()
    out.append(("drop srou-fragment", to_e(last(), pkt(), flags="MF")))
    valid()
    out.append(("drop srou-token-blocked", to_e(last(flow=b"\x0b\xad\x00\x03"), pkt())))
    valid()
    out.append(("drop srou-sl-beyond-last", to_e(last(sl=3), pkt())))
    valid()
    out.append(("drop srou-bad-magic", to_e(last(magic=0x40), pkt())))  # a QUIC short header
    valid()
    return out


# ---------------------------------------------------------------------------------------

def main():
    cmd = sys.argv[1]
    if cmd == "e2e":
        write(sys.argv[2], e2e())
    elif cmd == "acl":
        write(sys.argv[2], acl())
    elif cmd == "route":
        nat = len(sys.argv) > 4 and sys.argv[4] == "nat"
        write(sys.argv[3], [route(bytes(p), nat) for p in rdpcap(sys.argv[2])])
    elif cmd == "cat":
        frames = []
        for f in sys.argv[3:]:
            frames.extend(bytes(p) for p in rdpcap(f))
        write(sys.argv[2], frames)
    elif cmd in ("malformed-transit", "malformed-egress"):
        pairs = malformed_transit() if cmd == "malformed-transit" else malformed_egress()
        write(sys.argv[2], [f for _, f in pairs])
        print("\n".join(e for e, _ in pairs))
    else:
        sys.exit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
