#!/usr/bin/python3
"""Builds srgate's integration-test inputs with scapy (Debian's python3-scapy).

usage: frames.py SUITE OUT.pcap

Every valid frame carries a UDP payload that starts with b"SRG" and a 4-byte sequence
number, so the Rust tests can match each output frame to its input with tshark.
Suites:
  mixed      valid IPv4, 802.1Q, QinQ, IPv6, IPv6+SRH and MPLS frames (with a known TTL)
  malformed  one frame per malformation, interleaved with valid frames
"""
import struct
import sys

from scapy.all import (Dot1Q, Ether, IP, IPv6, IPv6ExtHdrSegmentRouting, IPv6ExtHdrHopByHop,
                       UDP, Raw, PcapWriter)
from scapy.contrib.mpls import MPLS

SRC = "02:00:00:00:00:01"
DST = "02:00:00:00:00:10"
UDP_DPORT = 7777


def payload(seq, size=16):
    body = b"SRG" + struct.pack("!I", seq)
    return body + bytes((seq + i) & 0xFF for i in range(size - len(body)))


def udp(seq, size=16):
    return UDP(sport=10000 + seq, dport=UDP_DPORT) / Raw(payload(seq, size))


def valid(seq):
    """The seq-th valid frame: cycles through the encapsulations."""
    kind = seq % 6
    eth = Ether(src=SRC, dst=DST)
    if kind == 0:
        return eth / IP(src="192.0.2.1", dst="198.51.100.1", ttl=64) / udp(seq)
    if kind == 1:
        return eth / Dot1Q(vlan=100) / IP(src="192.0.2.2", dst="198.51.100.2", ttl=17) / udp(seq, 40)
    if kind == 2:
        return (Ether(src=SRC, dst=DST, type=0x88A8) / Dot1Q(vlan=200, type=0x8100) / Dot1Q(vlan=300)
                / IP(src="192.0.2.3", dst="198.51.100.3", ttl=2) / udp(seq))
    if kind == 3:
        return eth / IPv6(src="2001:db8::1", dst="2001:db8:1::1", hlim=64) / udp(seq, 100)
    if kind == 4:
        return (eth / IPv6(src="2001:db8::1", dst="fc00::2", hlim=33)
                / IPv6ExtHdrHopByHop()
                / IPv6ExtHdrSegmentRouting(addresses=["fc00::3", "fc00::2", "fc00::1"], segleft=1, lastentry=2)
                / udp(seq))
    return (eth / MPLS(label=16001, ttl=64, s=0) / MPLS(label=24000, ttl=63, s=0)
            / MPLS(label=3, ttl=62, s=1) / IP(src="192.0.2.9", dst="198.51.100.9", ttl=50) / udp(seq, 64))


def malformed():
    """(name, frame bytes) for each malformation; names are srgate drop reasons."""
    good4 = bytes(Ether(src=SRC, dst=DST) / IP(src="192.0.2.1", dst="198.51.100.1") / udp(9999))
    good6 = bytes(Ether(src=SRC, dst=DST) / IPv6(src="2001:db8::1", dst="2001:db8::2") / udp(9999))
    srh = bytes(Ether(src=SRC, dst=DST) / IPv6(src="2001:db8::1", dst="fc00::1")
                / IPv6ExtHdrSegmentRouting(addresses=["fc00::2", "fc00::1"], segleft=1, lastentry=1) / udp(9999))
    out = []
    out.append(("eth-truncated", good4[:10]))
    out.append(("eth-no-payload", good4[:14]))
    out.append(("vlan-truncated", bytes(Ether(src=SRC, dst=DST, type=0x8100)) + b"\x00"))
    out.append(("vlan-too-many-tags", bytes(Ether(src=SRC, dst=DST) / Dot1Q(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3)
                                            / IP() / udp(9999))))
    out.append(("unknown-ethertype", bytes(Ether(src=SRC, dst=DST, type=0x88B5) / Raw(b"x" * 46))))
    out.append(("ipv4-truncated", good4[:14 + 12]))
    b = bytearray(good4); b[14] = 0x55; out.append(("ipv4-bad-version", bytes(b)))
    b = bytearray(good4); b[14] = 0x44; out.append(("ipv4-bad-header-len", bytes(b)))
    b = bytearray(good4); b[16:18] = struct.pack("!H", 1400); out.append(("ipv4-bad-total-len", bytes(b)))
    b = bytearray(good4); b[24] ^= 0x5A; out.append(("ipv4-bad-checksum", bytes(b)))
    out.append(("ttl-expired", bytes(Ether(src=SRC, dst=DST) / IP(ttl=1) / udp(9999))))
    out.append(("ipv6-truncated", good6[:14 + 30]))
    b = bytearray(good6); b[18:20] = struct.pack("!H", 900); out.append(("ipv6-bad-payload-len", bytes(b)))
    b = bytearray(srh); b[14 + 40 + 3] = 5  # Segments Left 5 with Last Entry 1
    out.append(("srh-sl-beyond-last", bytes(b)))
    b = bytearray(srh); b[14 + 40 + 1] = 2  # Hdr Ext Len 2: room for one segment, Last Entry 1
    out.append(("srh-bad-length", bytes(b)))
    out.append(("mpls-truncated", bytes(Ether(src=SRC, dst=DST) / MPLS(label=100, s=0) / MPLS(label=200, s=0))[:14 + 6]))
    deep = Ether(src=SRC, dst=DST)
    for i in range(9):
        deep = deep / MPLS(label=100 + i, s=0, ttl=64)
    out.append(("mpls-stack-too-deep", bytes(deep / Raw(b"\x00" * 8))))
    b = bytearray(good4); b[14 + 20 + 4:14 + 20 + 6] = struct.pack("!H", 4); out.append(("udp-bad-length", bytes(b)))
    b = bytearray(good4); b[14 + 20 + 4:14 + 20 + 6] = struct.pack("!H", 600); out.append(("udp-bad-length", bytes(b)))
    return out


def write(out, frames):
    w = PcapWriter(out, linktype=1, sync=True)
    for f in frames:
        w.write(Raw(bytes(f)))
    w.close()


def main():
    suite, out = sys.argv[1], sys.argv[2]
    if suite == "mixed":
        frames = [valid(i) for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 60)]
        write(out, frames)
    elif suite == "malformed":
        frames = []
        seq = 0
        names = []
        for name, raw in malformed():
            frames.append(raw)
            names.append(name)
            frames.append(valid(seq))
            seq += 1
        write(out, frames)
        print("\n".join(names))
    else:
        sys.exit(f"unknown suite {suite!r}")


if __name__ == "__main__":
    main()
