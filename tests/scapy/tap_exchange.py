#!/usr/bin/python3
"""Kernel side of the net_tap test: sends scapy-built frames into srgate through one tap
interface and captures what srgate forwards out of the other.

usage: tap_exchange.py IFACE_IN IFACE_OUT COUNT OUT.pcap
Writes every frame captured on IFACE_OUT to OUT.pcap (tshark reads it) and prints how many
frames were sent.
"""
import os
import sys
import time

from scapy.all import AsyncSniffer, Ether, IP, IPv6, UDP, Raw, sendp, wrpcap

sys.path.insert(0, os.path.dirname(__file__))
from frames import payload  # noqa: E402


def wait_up(iface, timeout=20.0):
    deadline = time.time() + timeout
    path = f"/sys/class/net/{iface}/flags"
    while time.time() < deadline:
        try:
            with open(path) as f:
                if int(f.read().strip(), 16) & 0x1:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{iface} did not come up within {timeout}s")


def main():
    src_if, dst_if, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    wait_up(src_if)
    wait_up(dst_if)
    sniffer = AsyncSniffer(iface=dst_if, store=True)
    sniffer.start()
    time.sleep(0.5)
    frames = []
    for seq in range(count):
        eth = Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")
        if seq % 2 == 0:
            frames.append(eth / IP(src="192.0.2.1", dst="198.51.100.1", ttl=64) / UDP(sport=10000 + seq, dport=7777) / Raw(payload(seq, 32)))
        else:
            frames.append(eth / IPv6(src="2001:db8::1", dst="2001:db8:1::1", hlim=64) / UDP(sport=10000 + seq, dport=7777) / Raw(payload(seq, 32)))
    sendp(frames, iface=src_if, verbose=False, inter=0.002)
    time.sleep(1.0)
    sniffer.stop()
    wrpcap(out, sniffer.results or [])
    print(count)


if __name__ == "__main__":
    main()
