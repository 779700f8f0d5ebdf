#!/usr/bin/python3
"""PE1's ingress packets for the MPLS anycast golden tests (tests/mpls_anycast.rs), the
packet flow of figure 4 of draft-psarkar-spring-mpls-anycast-segments-00 (seed 004).

usage: mpls.py fig4 OUT.pcap [N]     N flows (default 48), PE1 -> PE3 through group A
       mpls.py negative OUT.pcap     the frames R1 must drop, between frames it forwards

PE1 imposes the label stack of the draft's section 3.3: R1's label for the anycast SID 100
(R1's SRGB starts at 7000: 7100), then the bare SID index 30 of PE3 (the segment after an
anycast segment is given by its index, looked up in the members' V-LFIB). Both labels
leave PE1 with TTL 64. Frames go on the link PE1 -> R1, so they carry the MACs of that
link (see config/mpls-anycast-r1.toml).

Every frame is one flow: its own UDP source port (ECMP at R1 and at the group members
hashes the labels and the IP flow, so the flows take every branch) and a UDP payload
b"SRG" + 4-byte sequence number + filler (frames.payload), so the Rust test matches each
frame on every link to the one PE1 sent. Every fourth flow is IPv6, the others IPv4.
"""
import sys

from scapy.all import Ether, IP, IPv6, UDP
from scapy.contrib.mpls import MPLS

from frames import UDP_DPORT, payload, write

# The link PE1 -> R1: PE1's interface toward R1, R1's interface toward PE1. Interface MACs
# in config/mpls-anycast-*.toml are 02:f4:00:00:<node>:<neighbour> (PE1 = e1, R1 = 01).
PE1_MAC = "02:f4:00:00:e1:01"
R1_MAC = "02:f4:00:00:01:e1"

ANYCAST_LABEL_AT_R1 = 7100  # R1's SRGB 7000-8000 + anycast SID 100 (group A)
PE3_SID = 30                # the bare SID index of PE3, under the anycast label
TTL = 64


def inner(seq):
    """The IP packet of flow `seq` (its length varies with seq)."""
    udp = UDP(sport=20000 + seq, dport=UDP_DPORT) / payload(seq, 16 + 8 * (seq % 5))
    if seq % 4 == 3:
        return IPv6(src="2001:db8:10::1", dst="2001:db8:30::1", hlim=TTL) / udp
    return IP(src="192.0.2.10", dst="198.51.100.30", ttl=TTL) / udp


def labelled(seq, stack, ttl=TTL):
    """PE1's frame for flow `seq` under `stack` (outermost first), every label with `ttl`."""
    f = Ether(src=PE1_MAC, dst=R1_MAC)
    for i, label in enumerate(stack):
        f = f / MPLS(label=label, s=int(i == len(stack) - 1), ttl=ttl)
    return f / inner(seq)


def fig4(n):
    return [labelled(seq, [ANYCAST_LABEL_AT_R1, PE3_SID]) for seq in range(n)]


def negative():
    """Six frames; what R1 (and the member after it) does with each is in the comment."""
    return [
        labelled(0, [ANYCAST_LABEL_AT_R1, PE3_SID]),          # forwarded
        labelled(1, [7500, PE3_SID]),                         # R1: mpls-no-label (in R1's SRGB, no entry)
        labelled(2, [ANYCAST_LABEL_AT_R1, PE3_SID], ttl=1),   # R1: ttl-expired
        labelled(3, [ANYCAST_LABEL_AT_R1, PE3_SID]),          # forwarded
        labelled(4, [ANYCAST_LABEL_AT_R1, PE3_SID], ttl=2),   # R1 forwards it with TTL 1; the member: ttl-expired
        labelled(5, [PE3_SID]),                               # R1: mpls-no-label (a bare SID index is no label of R1's LFIB)
    ]


def main():
    suite, out = sys.argv[1], sys.argv[2]
    if suite == "fig4":
        write(out, fig4(int(sys.argv[3]) if len(sys.argv) > 3 else 48))
    elif suite == "negative":
        write(out, negative())
    else:
        sys.exit(f"unknown suite {suite!r}")


if __name__ == "__main__":
    main()
