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
    MplsNoLabel => "mpls-no-label", "top MPLS label has no LFIB entry";
    MplsVlfibNoEntry => "mpls-vlfib-no-entry", "SID index under an own anycast segment label has no V-LFIB entry";
    MplsImplicitNull => "mpls-implicit-null", "implicit null label (3) found on the wire";
    MplsRouterAlert => "mpls-router-alert", "MPLS router alert label (1): no punt path to the control plane";
    MplsReservedLabel => "mpls-reserved-label", "reserved MPLS label not processed (GAL, OAM alert, extension, unassigned, bad ELI)";
    MplsTooManyLookups => "mpls-too-many-lookups", "more labels to process on this node than supported (4)";
    MplsBadPayload => "mpls-bad-payload", "payload under the popped bottom MPLS label is neither IPv4 nor IPv6";
    MplsNoHeadroom => "mpls-no-headroom", "packet buffer headroom too small for the MPLS labels to push";
    TtlExpired => "ttl-expired", "IPv4 TTL, IPv6 hop limit or MPLS TTL would reach zero";
    NoRoute => "no-route", "no forwarding entry for the packet";
    TxQueueFull => "tx-queue-full", "the egress TX queue did not accept the packet";
    SrouTruncated => "srou-truncated", "UDP payload shorter than the SRoU fixed header or than its SRoU Length";
    SrouBadMagic => "srou-bad-magic", "SRoU Magic Number neither 0x00 nor 0xFE";
    SrouBadLength => "srou-bad-length", "SRoU Length too short for the Source, SR fixed part or OAM type it announces";
    SrouBadProtocol => "srou-bad-protocol", "SRoU Protocol-ID not 0 (OAM), 1 (IPv4) or 2 (IPv6)";
    SrouBadFlowIdLength => "srou-bad-flow-id-len", "SRoU Flow ID runs past SRoU Length";
    SrouBadSegmentType => "srou-bad-segment-type", "SRoU Segment Type not the one of the Protocol-ID (compressed lists unsupported)";
    SrouSegmentListTruncated => "srou-segment-list-truncated", "SRoU Last Entry + 1 segments run past SRoU Length";
    SrouSegmentsLeftBeyondLast => "srou-sl-beyond-last", "SRoU Segments Left greater than Last Entry";
    SrouSegmentsLeftZero => "srou-sl-zero", "SRoU Segments Left 0 at a transit-only locator (would wrap)";
    SrouNotFinal => "srou-not-final", "SRoU packet asked to decapsulate with segments left";
    SrouFamilyMismatch => "srou-family-mismatch", "outer IP family differs from the SRoU Protocol-ID";
    SrouFragment => "srou-fragment", "fragmented SRoU packet at a locator (no reassembly)";
    SrouOamUnsupported => "srou-oam-unsupported", "SRoU OAM packet (STUN/PM) not handled by the data plane";
    SrouBadServiceSegment => "srou-bad-service-segment", "SRoU service segment misplaced or with an unsupported behaviour";
    SrouBadInner => "srou-bad-inner", "SRoU inner packet empty or neither IPv4 nor IPv6";
    SrouTokenBlocked => "srou-token-blocked", "SRoU flow ID (token) is on the block list";
    SrouTokenNotPermitted => "srou-token-not-permitted", "SRoU flow ID (token) not on the permit list (permit-only mode)";
    SrouNoNextHop => "srou-no-next-hop", "no underlay adjacency for the next SRoU segment";
    SrouTooBig => "srou-too-big", "SRoU encapsulation would exceed the IP length limit";
    SrouNoHeadroom => "srou-no-headroom", "packet buffer headroom too small for the SRoU encapsulation";
    StampTooShort => "stamp-too-short", "STAMP test packet shorter than the Session-Sender fields (14 bytes of UDP payload)";
    StampBadChecksum => "stamp-bad-checksum", "UDP checksum of a STAMP test packet to this node does not verify";
    StampFragment => "stamp-fragment", "fragmented STAMP test packet to this node (no reassembly)";
    StampBadPathSegment => "stamp-bad-path-segment", "SRH P-flag set but Last Entry 0 leaves no room for a path segment";
    StampNoReversePath => "stamp-no-reverse-path", "SRH path segment of a STAMP test packet has no reverse segment list";
    StampNoHeadroom => "stamp-no-headroom", "packet buffer headroom too small for the STAMP reply (44-byte padding or reverse SRH)";
    StampTooBig => "stamp-too-big", "STAMP reply would exceed the IPv6 payload length limit";
    StampReplyTooShort => "stamp-reply-too-short", "reply to a STAMP session-sender shorter than the 44-byte Session-Reflector packet";
    StampReplyBadChecksum => "stamp-reply-bad-checksum", "UDP checksum of a reply to a STAMP session-sender does not verify (or is 0 over IPv6)";
    StampReplyFragment => "stamp-reply-fragment", "fragmented reply to a STAMP session-sender (no reassembly)";
    StampReplyWrongPeer => "stamp-reply-wrong-peer", "packet to a STAMP session-sender's address and port from another address or port than its reflector";
    StampReplyUnknownSeq => "stamp-reply-unknown-seq", "reply to a STAMP session-sender whose Session-Sender Sequence Number it has not sent";
    StampProbeNoMbuf => "stamp-probe-no-mbuf", "STAMP session-sender test packet not sent: the probe mbuf pool is empty";
    OverlayNoRoute => "overlay-no-route", "no EVPN type-2 (MAC/IP) or type-5 (prefix) route in the ingress VRF for the destination";
    OverlayBadTarget => "overlay-bad-target", "overlay route target names no SRoU policy in the published tables";
    ServiceSidNotLast => "service-sid-not-last", "computing SID (END.CG/END.CL/END.C) active with SRH Segments Left above 0";
    ServiceNoGlobalEntry => "service-no-global-entry", "END.CG (or END.C): service ID in the SID argument has no Global FIB (nor Local FIB) entry";
    ServiceNoLocalEntry => "service-no-local-entry", "END.CL: service ID in the SID argument has no Local FIB entry";
    ServiceNoPe => "service-no-pe", "END.CG (or END.C): no live egress PE (or instance) for the service";
    ServiceNoInstance => "service-no-instance", "END.CL: no live local instance for the service (never sent back to another PE)";
    ServiceBadInner => "service-bad-inner", "packet encapsulated to a computing SID is not a valid IPv6 packet";
    ServiceFragment => "service-fragment", "fragmented encapsulated packet at a computing SID (no reassembly)";
    ServiceNoHeadroom => "service-no-headroom", "packet buffer headroom too small for the END.CG encapsulation";
    ServiceTooBig => "service-too-big", "END.CG encapsulation would exceed the IPv6 payload length limit";
    DyncastNoRloc => "dyncast-no-rloc", "DSEID whose RLOC set has no usable RLOC (empty, or every priority 255)";
    DyncastNoHeadroom => "dyncast-no-headroom", "packet buffer headroom too small for the LISP encapsulation";
    DyncastTooBig => "dyncast-too-big", "LISP encapsulation would exceed the outer IP length limit";
    DyncastLispTruncated => "dyncast-lisp-truncated", "UDP 4341 datagram to a local RLOC shorter than the 8-byte LISP header";
    DyncastBadInner => "dyncast-bad-inner", "LISP packet to a local RLOC carries neither IPv4 nor IPv6";
    DyncastFragment => "dyncast-fragment", "fragmented LISP packet to a local RLOC (no reassembly)";
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
