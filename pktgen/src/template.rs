//! Packet templates: every frame pktgen sends is a copy of one built here at start-up, with
//! only a few fields patched per packet (UDP source port per flow, the signature, the
//! STAMP sequence number and timestamp, and the UDP checksums that cover them).
//!
//! Checksums are patched incrementally: the template keeps, for every UDP header that
//! needs a checksum (over IPv6; over IPv4 pktgen sends 0, which RFC 768 allows), the
//! one's-complement sum of its pseudo-header and datagram with every per-packet field
//! zeroed, and the list of those fields inside its coverage. Per packet only those few
//! bytes are summed (byte-swapped where a field sits at an odd offset from the UDP
//! header, RFC 1071 §2(B)). Inner checksums are done first: an outer UDP checksum (SRoU
//! over IPv6) covers the inner one.

use std::net::{IpAddr, SocketAddr};

use fwd_core::wire::ethernet::{self, Address, EtherType};
use fwd_core::wire::{checksum, ipv4, ipv6, mpls, srh, udp, IpProtocol};

use crate::profile::{header_len, Headers, Spec, FCS_LEN};
use crate::sig::{self, Form};

/// One UDP checksum to compute per packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsumCell {
    /// Offset of the checksum field in the frame.
    pub csum_off: usize,
    /// Offset of the UDP header.
    pub udp_off: usize,
    /// Sum of pseudo-header and datagram with the per-packet fields zeroed.
    pub base: u16,
    /// Per-packet fields inside the datagram: (offset in frame, length).
    pub regions: Vec<(usize, usize)>,
}

/// A frame ready to be copied and patched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The frame without FCS, every per-packet field zero.
    pub bytes: Vec<u8>,
    /// Frame size on the wire, FCS included.
    pub size: u32,
    /// Where the signature starts.
    pub sig_off: usize,
    /// Which signature form fits.
    pub form: Form,
    /// UDP source port fields set to `src_port + flow`.
    pub port_offs: Vec<usize>,
    /// Start of the STAMP Session-Sender packet, if any.
    pub stamp_off: Option<usize>,
    /// UDP checksums to compute, innermost first.
    pub cells: Vec<CsumCell>,
    /// True for the malformed variant.
    pub malformed: bool,
}

/// The one's-complement sum of `bytes` placed at an even (`odd == false`) or odd offset
/// from the start of the checksummed data.
#[inline]
fn aligned_sum(bytes: &[u8], odd: bool) -> u16 {
    let s = checksum::sum(bytes);
    if odd {
        s.swap_bytes()
    } else {
        s
    }
}

struct Writer {
    buf: Vec<u8>,
    at: usize,
}

impl Writer {
    fn take(&mut self, n: usize) -> (usize, &mut [u8]) {
        let o = self.at;
        self.at += n;
        (o, &mut self.buf[o..o + n])
    }
}

fn ip_header(
    w: &mut Writer,
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    payload_len: usize,
    ttl: u8,
    dscp: u8,
) -> usize {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let (o, b) = w.take(ipv4::HEADER_LEN);
            ipv4::Repr {
                src_addr: s,
                dst_addr: d,
                protocol: proto,
                payload_len,
                ttl,
                dscp,
                ident: 0,
                dont_frag: true,
            }
            .emit(&mut ipv4::Packet::new_unchecked(b));
            o
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let (o, b) = w.take(ipv6::HEADER_LEN);
            ipv6::Repr {
                src_addr: s,
                dst_addr: d,
                next_header: proto,
                payload_len,
                hop_limit: ttl,
                traffic_class: dscp << 2,
                flow_label: 0,
            }
            .emit(&mut ipv6::Packet::new_unchecked(b));
            o
        }
        _ => unreachable!("address families are checked by the profile"),
    }
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, udp_len: usize) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum::pseudo_header_v4(s, d, IpProtocol::UDP, udp_len as u16)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::pseudo_header_v6(s, d, IpProtocol::UDP, udp_len as u32)
        }
        _ => unreachable!("address families are checked by the profile"),
    }
}

/// Bytes of the UDP payload in front of the signature (the STAMP packet).
fn pre_sig(spec: &Spec) -> usize {
    match spec.headers {
        Headers::Stamp => fwd_core::stamp::wire::SENDER_LEN,
        _ => 0,
    }
}

impl Template {
    /// Builds the template of a `size`-byte frame (FCS included) for `spec`, from
    /// `src_mac`; `malformed` builds the variant whose outermost header is invalid
    /// (IPv4: header checksum wrong; IPv6: version 0; MPLS: top-label TTL 0).
    pub fn build(spec: &Spec, src_mac: [u8; 6], size: u32, malformed: bool) -> Template {
        let v4 = spec.src_ip.is_ipv4();
        let frame_len = (size - FCS_LEN) as usize;
        let hdr = header_len(&spec.headers, v4);
        let form = Form::for_room(frame_len - hdr).expect("sizes are checked by the profile");
        let inner_ip_len = if v4 {
            ipv4::HEADER_LEN
        } else {
            ipv6::HEADER_LEN
        };
        let udp_payload = pre_sig(spec) + (frame_len - hdr);
        let inner_len = inner_ip_len + udp::HEADER_LEN + udp_payload;
        let mut w = Writer {
            buf: vec![0u8; frame_len],
            at: 0,
        };
        let mut port_offs = Vec::new();
        let mut outer_cells: Vec<(usize, usize, IpAddr, IpAddr)> = Vec::new();

        let inner_ethertype = if v4 { EtherType::IPV4 } else { EtherType::IPV6 };
        let ethertype = match &spec.headers {
            Headers::Mpls { .. } => EtherType::MPLS,
            Headers::Srv6 { .. } => EtherType::IPV6,
            Headers::Srou { source, .. } => {
                if source.is_ipv4() {
                    EtherType::IPV4
                } else {
                    EtherType::IPV6
                }
            }
            _ => inner_ethertype,
        };
        let (_, eth) = w.take(ethernet::HEADER_LEN);
        ethernet::Repr {
            src_addr: Address(src_mac),
            dst_addr: Address(spec.dst_mac),
            ethertype,
        }
        .emit(&mut ethernet::Frame::new_unchecked(eth));
        let outer_l3 = w.at;

        match &spec.headers {
            Headers::Ip | Headers::Stamp => {}
            Headers::Mpls { labels, ttl, tc } => {
                for (i, l) in labels.iter().enumerate() {
                    let (_, b) = w.take(mpls::ENTRY_LEN);
                    mpls::Repr {
                        label: *l,
                        tc: *tc,
                        bottom_of_stack: i + 1 == labels.len(),
                        ttl: if malformed && i == 0 { 0 } else { *ttl },
                    }
                    .emit(&mut mpls::Entry::new_unchecked(b));
                }
            }
            Headers::Srv6 { src, segments } => {
                let n = segments.len();
                let srh_len = srh::HEADER_LEN + srh::SEGMENT_LEN * n;
                ip_header(
                    &mut w,
                    IpAddr::V6(*src),
                    IpAddr::V6(segments[0]),
                    IpProtocol::IPV6_ROUTE,
                    srh_len + inner_len,
                    spec.ttl,
                    spec.dscp,
                );
                // Segment List[0] is the last segment of the travel order.
                let mut list = Vec::with_capacity(srh::SEGMENT_LEN * n);
                for s in segments.iter().rev() {
                    list.extend_from_slice(&s.octets());
                }
                let (_, b) = w.take(srh_len);
                srh::Repr {
                    next_header: if v4 {
                        IpProtocol::IPV4
                    } else {
                        IpProtocol::IPV6
                    },
                    segments_left: (n - 1) as u8,
                    flags: 0,
                    tag: 0,
                    segments: &list,
                }
                .emit(&mut srh::Header::new_unchecked(b));
            }
            Headers::Srou {
                source,
                locators,
                flow_id,
            } => {
                use fwd_core::srou::wire::{encode_segment, ProtocolId, MAGIC};
                let n = locators.len();
                let (alen, slen, pid) = if source.is_ipv4() {
                    (4, 6, ProtocolId::IPV4)
                } else {
                    (16, 18, ProtocolId::IPV6)
                };
                let srou_len = 4 + flow_id.len() + alen + 2 + 4 + slen * n;
                let udp_len = udp::HEADER_LEN + srou_len + inner_len;
                let first_hop: SocketAddr = locators[0];
                ip_header(
                    &mut w,
                    source.ip(),
                    first_hop.ip(),
                    IpProtocol::UDP,
                    udp_len,
                    spec.ttl,
                    spec.dscp,
                );
                let (uo, b) = w.take(udp::HEADER_LEN);
                udp::Repr {
                    src_port: source.port(),
                    dst_port: first_hop.port(),
                    payload_len: udp_len - udp::HEADER_LEN,
                }
                .emit(&mut udp::Packet::new_unchecked(b));
                if !source.is_ipv4() {
                    outer_cells.push((uo, udp_len, source.ip(), first_hop.ip()));
                }
                let (_, h) = w.take(srou_len);
                h[0] = MAGIC;
                h[1] = srou_len as u8;
                h[2] = flow_id.len() as u8;
                h[3] = pid.0;
                let mut o = 4;
                h[o..o + flow_id.len()].copy_from_slice(flow_id);
                o += flow_id.len();
                o += encode_segment(source, &mut h[o..]);
                h[o] = if source.is_ipv4() { 0x1 } else { 0x2 };
                h[o + 1] = (4 + slen * n) as u8;
                h[o + 2] = (n - 1) as u8;
                h[o + 3] = (n - 1) as u8;
                o += 4;
                // Segment List[0] is the egress, Segment List[n-1] the first hop.
                for l in locators.iter().rev() {
                    o += encode_segment(l, &mut h[o..]);
                }
                debug_assert_eq!(o, srou_len);
            }
        }

        // The (inner) IP packet and UDP.
        let inner_l3 = ip_header(
            &mut w,
            spec.src_ip,
            spec.dst_ip,
            IpProtocol::UDP,
            udp::HEADER_LEN + udp_payload,
            spec.ttl,
            spec.dscp,
        );
        let (uo, b) = w.take(udp::HEADER_LEN);
        udp::Repr {
            src_port: 0,
            dst_port: spec.dst_port,
            payload_len: udp_payload,
        }
        .emit(&mut udp::Packet::new_unchecked(b));
        port_offs.push(uo);
        let stamp_off = match spec.headers {
            Headers::Stamp => {
                let (so, _) = w.take(fwd_core::stamp::wire::SENDER_LEN);
                Some(so)
            }
            _ => None,
        };
        let sig_off = w.at;
        debug_assert_eq!(sig_off, hdr);

        // Malformed IP variants: the outermost IP header.
        if malformed && !matches!(spec.headers, Headers::Mpls { .. }) {
            let b = &mut w.buf[outer_l3..];
            if b[0] >> 4 == 4 {
                b[10] ^= 0xff;
            } else {
                b[0] &= 0x0f;
            }
        }
        let _ = inner_l3;

        // Checksum cells, innermost first.
        let mut varying: Vec<(usize, usize)> = port_offs.iter().map(|o| (*o, 2)).collect();
        varying.push((sig_off, form.wire_len()));
        if let Some(so) = stamp_off {
            varying.push((so, 12));
        }
        let mut specs: Vec<(usize, usize, IpAddr, IpAddr)> = Vec::new();
        if !v4 {
            specs.push((uo, udp::HEADER_LEN + udp_payload, spec.src_ip, spec.dst_ip));
        }
        specs.extend(outer_cells);
        let mut cells: Vec<CsumCell> = Vec::new();
        for (udp_off, udp_len, src, dst) in specs {
            let end = udp_off + udp_len;
            let mut regions: Vec<(usize, usize)> = varying
                .iter()
                .copied()
                .filter(|(o, _)| *o >= udp_off && *o < end)
                .collect();
            for c in &cells {
                if c.csum_off >= udp_off && c.csum_off < end {
                    regions.push((c.csum_off, 2));
                }
            }
            let base = checksum::add(
                pseudo_sum(src, dst, udp_len),
                checksum::sum(&w.buf[udp_off..end]),
            );
            cells.push(CsumCell {
                csum_off: udp_off + 6,
                udp_off,
                base,
                regions,
            });
        }
        Template {
            bytes: w.buf,
            size,
            sig_off,
            form,
            port_offs,
            stamp_off,
            cells,
            malformed,
        }
    }

    /// Distance from the signature to the end of the frame (for the receiver's search).
    pub fn sig_from_end(&self) -> usize {
        self.bytes.len() - self.sig_off
    }

    /// Patches a copy of the template (`buf`, as long as the template) for one packet:
    /// flow port, signature (TSC left for [`Template::finish`]), STAMP sequence number and
    /// timestamp (`ntp`, NTP format).
    #[inline]
    pub fn patch(&self, buf: &mut [u8], port: u16, stream: u32, seq: u64, ntp: u64) {
        for &o in &self.port_offs {
            buf[o..o + 2].copy_from_slice(&port.to_be_bytes());
        }
        sig::write(&mut buf[self.sig_off..], self.form, stream, seq, 0);
        if let Some(so) = self.stamp_off {
            buf[so..so + 4].copy_from_slice(&(seq as u32).to_be_bytes());
            buf[so + 4..so + 12].copy_from_slice(&ntp.to_be_bytes());
        }
    }

    /// True when a packet needs nothing but the flow port and the signature: no STAMP
    /// fields, no UDP checksum (IPv4 and MPLS over IPv4), one port field. Such packets are
    /// written by [`Template::fill`] with a few fixed-size stores.
    pub fn is_plain(&self) -> bool {
        self.cells.is_empty() && self.stamp_off.is_none() && self.port_offs.len() == 1
    }

    /// [`Template::patch`] then [`Template::finish`] in one pass over a copy of the
    /// template: what the transmit loop calls per packet.
    #[inline]
    pub fn fill(&self, buf: &mut [u8], port: u16, stream: u32, seq: u64, ntp: u64, tsc: u64) {
        if self.is_plain() {
            let po = self.port_offs[0];
            if let Some(p) = buf.get_mut(po..po + 2) {
                p.copy_from_slice(&port.to_be_bytes());
            }
            sig::write(&mut buf[self.sig_off..], self.form, stream, seq, tsc);
        } else {
            self.patch(buf, port, stream, seq, ntp);
            self.finish(buf, tsc);
        }
    }

    /// Writes the TX timestamp and completes the UDP checksums.
    #[inline]
    pub fn finish(&self, buf: &mut [u8], tsc: u64) {
        sig::write_tsc(&mut buf[self.sig_off..], self.form, tsc);
        for c in &self.cells {
            let mut s = c.base;
            for &(o, n) in &c.regions {
                s = checksum::add(s, aligned_sum(&buf[o..o + n], (o - c.udp_off) % 2 == 1));
            }
            let mut v = !s;
            if v == 0 {
                v = 0xffff;
            }
            buf[c.csum_off..c.csum_off + 2].copy_from_slice(&v.to_be_bytes());
        }
    }

    /// A one-line description of the layout, e.g. `64 B: 14 eth | 20 ipv4 | 8 udp | 18 sig`.
    pub fn describe(&self, spec: &Spec) -> String {
        let v4 = spec.src_ip.is_ipv4();
        let ip = if v4 { "20 ipv4" } else { "40 ipv6" };
        let outer = match &spec.headers {
            Headers::Ip | Headers::Stamp => String::new(),
            Headers::Mpls { labels, .. } => {
                format!("{} mpls ({} labels) | ", 4 * labels.len(), labels.len())
            }
            Headers::Srv6 { segments, .. } => format!(
                "40 ipv6 | {} srh ({} segments) | ",
                8 + 16 * segments.len(),
                segments.len()
            ),
            Headers::Srou { source, .. } => {
                let oip = if source.is_ipv4() {
                    "20 ipv4"
                } else {
                    "40 ipv6"
                };
                let total = header_len(&spec.headers, v4) - header_len(&Headers::Ip, v4);
                let srou = total - if source.is_ipv4() { 28 } else { 48 };
                format!("{oip} | 8 udp | {srou} srou | ")
            }
        };
        let stamp = if self.stamp_off.is_some() {
            " | 44 stamp"
        } else {
            ""
        };
        let pad = self.bytes.len() - self.sig_off - self.form.wire_len();
        format!(
            "{} B: 14 eth | {outer}{ip} | 8 udp{stamp} | {} sig ({:?}) | {pad} pad | 4 fcs",
            self.size,
            self.form.wire_len(),
            self.form
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use fwd_core::packet::{parse, L3Kind};
    use std::path::Path;

    fn spec(traffic: &str) -> Spec {
        let text = format!(
            "[[port]]\nname = \"p\"\ndevice = \"net_null0\"\n[traffic]\ntx_port = \"p\"\ncount = 1\n{traffic}"
        );
        Profile::from_str_named(&text, Path::new("t.toml"))
            .expect("parses")
            .resolve(Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn packet(t: &Template, port: u16, stream: u32, seq: u64, tsc: u64) -> Vec<u8> {
        let mut b = t.bytes.clone();
        t.patch(&mut b, port, stream, seq, 0x1122_3344_5566_7788);
        t.finish(&mut b, tsc);
        b
    }

    fn udp_ok(frame: &[u8], l3: usize) -> bool {
        let (src, dst, udp_at) = if frame[l3] >> 4 == 4 {
            let p = ipv4::Packet::new_checked(&frame[l3..]).expect("ipv4");
            (
                IpAddr::V4(p.src_addr()),
                IpAddr::V4(p.dst_addr()),
                l3 + p.header_len(),
            )
        } else {
            let p = ipv6::Packet::new_checked(&frame[l3..]).expect("ipv6");
            (IpAddr::V6(p.src_addr()), IpAddr::V6(p.dst_addr()), l3 + 40)
        };
        let u = udp::Packet::new_checked(&frame[udp_at..]).expect("udp");
        u.checksum() == 0 || u.verify_checksum(&src, &dst)
    }

    #[test]
    fn ipv4_64_bytes_carries_the_short_signature() {
        let s = spec("protocol = \"ipv4\"\nsize = 64\nflows = 3\n");
        let t = Template::build(&s, [2, 0, 0, 0, 0, 1], 64, false);
        assert_eq!(t.bytes.len(), 60);
        assert_eq!((t.sig_off, t.form), (42, Form::Short));
        assert!(t.cells.is_empty(), "UDP checksum 0 over IPv4");
        let f = packet(&t, 1026, 2, 77, 555);
        let meta = parse(&f).expect("srgate parses it");
        assert_eq!(meta.l3, L3Kind::Ipv4);
        assert_eq!(meta.src_port, 1026);
        assert_eq!(meta.dst_port, 5001);
        assert!(ipv4::Packet::new_checked(&f[14..])
            .expect("v4")
            .verify_checksum());
        let found = sig::find(&f, 42, 18, 3).expect("signature");
        assert_eq!(
            (found.stream, found.seq, found.tsc, found.short),
            (2, 77, 555, true)
        );
        assert_eq!(
            t.describe(&s),
            "64 B: 14 eth | 20 ipv4 | 8 udp | 18 sig (Short) | 0 pad | 4 fcs"
        );
    }

    #[test]
    fn ipv6_checksums_are_patched_incrementally() {
        let s = spec("protocol = \"ipv6\"\nsize = 200\nflows = 5\n");
        let t = Template::build(&s, [2, 0, 0, 0, 0, 1], 200, false);
        assert_eq!(t.form, Form::Full);
        for (port, seq) in [
            (1024u16, 0u64),
            (1028, u64::MAX),
            (1025, 0x0123_4567_89ab_cdef),
        ] {
            let f = packet(&t, port, 4, seq, seq ^ 0xdead_beef);
            assert!(udp_ok(&f, 14), "port {port} seq {seq}");
            assert_eq!(parse(&f).expect("parses").l3, L3Kind::Ipv6);
        }
    }

    #[test]
    fn mpls_srv6_srou_stamp_parse_as_srgate_sees_them() {
        let s =
            spec("protocol = \"mpls\"\nsize = 100\n[traffic.mpls]\nlabels = [1000, 2000, 3000]\n");
        let t = Template::build(&s, [2; 6], 100, false);
        let f = packet(&t, 1024, 0, 1, 2);
        let meta = parse(&f).expect("mpls");
        assert_eq!((meta.l3, meta.mpls_depth), (L3Kind::Mpls, 3));
        let e = mpls::Entry::new_checked(&f[14..]).expect("lse");
        assert_eq!((e.label(), e.ttl(), e.bottom_of_stack()), (1000, 64, false));
        let bad = Template::build(&s, [2; 6], 100, true);
        assert_eq!(bad.bytes[17], 0, "malformed: top-label TTL 0");

        let s = spec(
            "protocol = \"srv6\"\nsize = 200\ndst_ip = \"2001:db8::99\"\n[traffic.srv6]\nsrc = \"2001:db8:a::1\"\nsegments = [\"2001:db8:b::1\", \"2001:db8:c::1\"]\n",
        );
        let t = Template::build(&s, [2; 6], 200, false);
        let f = packet(&t, 1024, 0, 9, 9);
        let meta = parse(&f).expect("srv6");
        assert_ne!(meta.srh_offset, 0);
        let o = ipv6::Packet::new_checked(&f[14..]).expect("outer");
        assert_eq!(
            o.dst_addr(),
            "2001:db8:b::1".parse::<std::net::Ipv6Addr>().expect("ip")
        );
        let h = srh::Header::new_checked(&f[54..]).expect("srh");
        assert_eq!((h.segments_left(), h.last_entry()), (1, 1));
        assert_eq!(h.segment(0), "2001:db8:c::1".parse().ok());
        assert!(udp_ok(&f, 54 + 40), "inner UDP over IPv6");

        // SRoU over IPv6 with an odd-length flow ID: both checksums, inner then outer.
        let s = spec(
            "protocol = \"srou\"\nsize = 300\ndst_ip = \"2001:db8::2\"\n[traffic.srou]\nsource = \"[2001:db8:1::1]:4000\"\nlocators = [\"[2001:db8:99::1]:8811\", \"[2001:db8:99::2]:8811\"]\nflow_id = \"0x010203\"\n",
        );
        let t = Template::build(&s, [2; 6], 300, false);
        assert_eq!(t.cells.len(), 2);
        for seq in [0u64, 1, 12345, u64::MAX - 3] {
            let f = packet(&t, 1030, 0, seq, seq.wrapping_mul(3));
            assert!(udp_ok(&f, 14), "outer UDP, seq {seq}");
            let srou_at = 14 + 40 + 8;
            let hdr = fwd_core::srou::wire::Header::new_checked(&f[srou_at..]).expect("srou");
            assert_eq!(hdr.flow_id(), &[1, 2, 3]);
            assert_eq!((hdr.last_entry(), hdr.segments_left()), (1, 1));
            assert_eq!(hdr.active_segment(), "[2001:db8:99::1]:8811".parse().ok());
            let inner = srou_at + hdr.header_len();
            assert!(udp_ok(&f, inner), "inner UDP, seq {seq}");
            assert_eq!(
                sig::find(&f, t.sig_off, t.sig_from_end(), 1).map(|x| x.seq),
                Some(seq)
            );
        }
        // SRoU over IPv4 (the draft's example: flow ID 0x123 in 3 bytes, two locators).
        let s = spec(
            "protocol = \"srou\"\nsize = 128\n[traffic.srou]\nsource = \"10.0.0.1:4000\"\nlocators = [\"10.99.1.1:8811\", \"10.99.2.1:8811\"]\nflow_id = \"0x000123\"\n",
        );
        let t = Template::build(&s, [2; 6], 128, false);
        let f = packet(&t, 1024, 0, 1, 1);
        let hdr = fwd_core::srou::wire::Header::new_checked(&f[42..]).expect("srou v4");
        assert_eq!(hdr.header_len(), 29, "the draft's worked example");

        let s = spec("protocol = \"stamp\"\nsize = 128\ndst_ip = \"2001:db8:d::1\"\n");
        let t = Template::build(&s, [2; 6], 128, false);
        let f = packet(&t, 40001, 0, 0x1_0000_0007, 5);
        assert!(udp_ok(&f, 14), "STAMP over IPv6 needs its checksum");
        let meta = parse(&f).expect("stamp");
        assert_eq!(meta.dst_port, 862);
        let p = fwd_core::stamp::wire::SenderPacket::new_checked(&f[62..]).expect("stamp");
        assert_eq!(p.seq(), 7);
        assert_eq!(p.timestamp().0, 0x1122_3344_5566_7788);
    }

    #[test]
    fn fill_is_patch_then_finish() {
        for traffic in [
            "protocol = \"ipv4\"\nsize = 64\n",
            "protocol = \"ipv4\"\nsize = 128\n",
            "protocol = \"ipv6\"\nsize = 200\n",
            "protocol = \"stamp\"\nsize = 128\ndst_ip = \"2001:db8:d::1\"\n",
        ] {
            let s = spec(traffic);
            for bad in [false, true] {
                let t = Template::build(&s, [2; 6], s.sizes[0].0, bad);
                let mut b = t.bytes.clone();
                t.fill(&mut b, 1031, 5, 0x1_0000_0009, 0x1122_3344_5566_7788, 77);
                assert_eq!(b, packet(&t, 1031, 5, 0x1_0000_0009, 77), "{traffic}");
            }
        }
        let t = Template::build(&spec("protocol = \"ipv4\"\nsize = 64\n"), [2; 6], 64, false);
        assert!(t.is_plain());
        let t = Template::build(
            &spec("protocol = \"ipv6\"\nsize = 128\n"),
            [2; 6],
            128,
            false,
        );
        assert!(!t.is_plain(), "IPv6 needs its UDP checksum");
    }

    #[test]
    fn malformed_variants_are_refused_by_srgate_parser() {
        let s = spec("protocol = \"ipv4\"\nsize = 64\n");
        let f = packet(&Template::build(&s, [2; 6], 64, true), 1, 0, 0, 0);
        assert!(!ipv4::Packet::new_checked(&f[14..])
            .expect("v4")
            .verify_checksum());
        let s = spec("protocol = \"ipv6\"\nsize = 128\n");
        let f = packet(&Template::build(&s, [2; 6], 128, true), 1, 0, 0, 0);
        assert!(parse(&f).is_err(), "IPv6 version 0");
    }
}
