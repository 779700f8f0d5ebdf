//! Drop reasons: every packet the data plane discards is counted under exactly one of these.
//!
//! Modelled on VPP's per-node error counters: each reason has a short stable name (used in
//! counter dumps and JSON) and a one-line description an operator can act on.

macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $desc:literal;)*) => {
        /// Why a packet was dropped. One counter per variant per worker.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $(#[doc = $desc] $variant,)*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            /// Number of distinct reasons (size of a per-worker counter array).
            pub const COUNT: usize = [$(DropReason::$variant,)*].len();

            /// Stable short name, e.g. `ipv4-bad-checksum`.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$variant => $name,)* }
            }

            /// One-line human description.
            pub const fn description(self) -> &'static str {
                match self { $(DropReason::$variant => $desc,)* }
            }

            /// Index into a counter array.
            #[inline]
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl core::fmt::Display for DropReason {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

drop_reasons! {
    EthTruncated => "eth-truncated", "frame shorter than an Ethernet header";
    EthNoPayload => "eth-no-payload", "Ethernet header with nothing after it";
    VlanTruncated => "vlan-truncated", "802.1Q tag cut short";
    VlanTooManyTags => "vlan-too-many-tags", "more VLAN tags than supported (2)";
    UnknownEthertype => "unknown-ethertype", "EtherType the gateway does not forward";
    Ipv4Truncated => "ipv4-truncated", "IPv4 header cut short";
    Ipv4BadVersion => "ipv4-bad-version", "IPv4 version field is not 4";
    Ipv4BadHeaderLen => "ipv4-bad-header-len", "IPv4 IHL below 5 or beyond the frame";
    Ipv4BadTotalLen => "ipv4-bad-total-len", "IPv4 total length shorter than its header or longer than the frame";
    Ipv4BadChecksum => "ipv4-bad-checksum", "IPv4 header checksum does not verify";
    Ipv6Truncated => "ipv6-truncated", "IPv6 header cut short";
    Ipv6BadVersion => "ipv6-bad-version", "IPv6 version field is not 6";
    Ipv6BadPayloadLen => "ipv6-bad-payload-len", "IPv6 payload length longer than the frame";
    Ipv6ExtTruncated => "ipv6-ext-truncated", "IPv6 extension header runs past the payload";
    Ipv6TooManyExt => "ipv6-too-many-ext", "IPv6 extension header chain longer than supported";
    SrhTruncated => "srh-truncated", "SRv6 SRH shorter than its fixed part or its segment list";
    SrhBadLength => "srh-bad-length", "SRH Hdr Ext Len cannot hold Last Entry + 1 segments";
    SrhSegmentsLeftBeyondLast => "srh-sl-beyond-last", "SRH Segments Left greater than Last Entry + 1";
    UdpTruncated => "udp-truncated", "UDP header cut short";
    UdpBadLength => "udp-bad-length", "UDP length shorter than 8 or longer than the IP payload";
    MplsTruncated => "mpls-truncated", "MPLS label stack ends before a bottom-of-stack entry";
    MplsStackTooDeep => "mpls-stack-too-deep", "MPLS label stack deeper than supported";
    TtlExpired => "ttl-expired", "IPv4 TTL, IPv6 hop limit or MPLS TTL would reach zero";
    NoRoute => "no-route", "no forwarding entry for the packet";
    TxQueueFull => "tx-queue-full", "the egress TX queue did not accept the packet";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_indices_dense() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
