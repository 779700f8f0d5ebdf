//! Overlay tables on parsed frames: lookup order, VRF isolation, VLAN bindings,
//! IPv4/IPv6, rebuilds after route changes.

use core::net::IpAddr;

use super::*;
use crate::packet::parse;
use crate::wire::checksum;

const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 5];
const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn l2(dst: [u8; 6], vlan: Option<u16>, ethertype: u16) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

fn v4(dst_mac: [u8; 6], vlan: Option<u16>, dst: &str) -> Vec<u8> {
    let mut f = l2(dst_mac, vlan, 0x0800);
    let d: core::net::Ipv4Addr = dst.parse().expect("ipv4");
    let mut ip = [
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0,
    ];
    ip[16..20].copy_from_slice(&d.octets());
    let c = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x04, 0xd2, 0x16, 0x2e, 0, 8, 0, 0]);
    f
}

fn v6(dst_mac: [u8; 6], dst: &str) -> Vec<u8> {
    let mut f = l2(dst_mac, None, 0x86dd);
    let d: core::net::Ipv6Addr = dst.parse().expect("ipv6");
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 17, 64]);
    f.extend_from_slice(
        &"2001:db8::9"
            .parse::<core::net::Ipv6Addr>()
            .expect("src")
            .octets(),
    );
    f.extend_from_slice(&d.octets());
    f.extend_from_slice(&[0x04, 0xd2, 0x16, 0x2e, 0, 8, 0, 0]);
    f
}

fn prefix(s: &str) -> IpPrefix {
    s.parse().expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// VNID 100 on port 0, VNID 200 on port 0 VLAN 20 and on port 1.
fn builder() -> OverlayTablesBuilder {
    let mut b = OverlayTables::builder();
    b.vrf(100).expect("vrf").vrf(200).expect("vrf");
    b.bind(0, None, 100).expect("bind");
    b.bind(0, Some(20), 200).expect("bind");
    b.bind(1, None, 200).expect("bind");
    b.route5(100, prefix("10.0.0.0/8"), RouteTarget(1))
        .expect("r5");
    b.route5(100, prefix("10.1.1.5/32"), RouteTarget(2))
        .expect("r5");
    b.route5(100, prefix("2001:db8::/32"), RouteTarget(3))
        .expect("r5");
    b.route2(100, HOST_MAC, Some(ip("10.1.1.5")), RouteTarget(4))
        .expect("r2");
    b.route2(
        100,
        [2, 0, 0, 0, 0, 6],
        Some(ip("2001:db8::6")),
        RouteTarget(5),
    )
    .expect("r2");
    b.route5(200, prefix("10.0.0.0/8"), RouteTarget(6))
        .expect("r5");
    b
}

fn route(t: &OverlayTables, port: u16, f: &[u8]) -> Result<Option<Routed>, DropReason> {
    let m = parse(f).expect("parses");
    t.route(port, f, &m)
}

fn target(t: &OverlayTables, port: u16, f: &[u8]) -> RouteTarget {
    route(t, port, f).expect("routed").expect("overlay").target
}

#[test]
fn type2_host_beats_type5_even_a_host_prefix() {
    let t = builder().build();
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.1.1.5")), RouteTarget(4));
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.1.1.6")), RouteTarget(1));
    assert_eq!(target(&t, 0, &v6(GW_MAC, "2001:db8::6")), RouteTarget(5));
    assert_eq!(target(&t, 0, &v6(GW_MAC, "2001:db8::7")), RouteTarget(3));
    let vrf = t.vrf(100).expect("vrf");
    assert_eq!(vrf.lookup_ip(&ip("10.1.1.5")), Some(RouteTarget(4)));
    assert_eq!(vrf.lookup_ip(&ip("2001:db8::6")), Some(RouteTarget(5)));
    assert_eq!(vrf.lookup_ip(&ip("2001:db9::6")), None);
    assert_eq!(vrf.route_counts(), (2, 2, 3));
    assert_eq!(vrf.prefixes_v4().len(), 2);
    assert_eq!(vrf.prefixes_v6().len(), 1);
}

#[test]
fn destination_mac_beats_type5_but_not_an_ip_host() {
    let t = builder().build();
    // To the host's MAC: bridged to its target whatever the IP destination.
    assert_eq!(
        target(&t, 0, &v4(HOST_MAC, None, "10.200.0.1")),
        RouteTarget(4)
    );
    assert_eq!(
        target(&t, 0, &v4(HOST_MAC, None, "172.16.0.1")),
        RouteTarget(4)
    );
    // An IP host route still comes first.
    assert_eq!(
        target(&t, 0, &v4([2, 0, 0, 0, 0, 6], None, "10.1.1.5")),
        RouteTarget(4)
    );
    // MPLS frames are matched by MAC only.
    let mut mpls = l2(HOST_MAC, None, 0x8847);
    mpls.extend_from_slice(&[0, 0x10, 0x01, 64, 0x45, 0, 0, 0]);
    let m = parse(&mpls).expect("mpls parses");
    assert_eq!(t.lookup(100, &mpls, &m), Some(RouteTarget(4)));
    mpls[5] = 7;
    assert_eq!(t.lookup(100, &mpls, &m), None);
}

#[test]
fn vrfs_are_isolated_and_chosen_by_port_and_vlan() {
    let t = builder().build();
    // Same destination, VRF 200 on VLAN 20 of port 0 and on port 1.
    let r = route(&t, 0, &v4(GW_MAC, Some(20), "10.1.1.5")).expect("ok");
    assert_eq!(
        r,
        Some(Routed {
            vnid: 200,
            target: RouteTarget(6)
        })
    );
    assert_eq!(target(&t, 1, &v4(GW_MAC, None, "10.1.1.5")), RouteTarget(6));
    // Other VLANs on port 0 fall back to the port's binding.
    assert_eq!(
        route(&t, 0, &v4(GW_MAC, Some(21), "10.1.1.5"))
            .expect("ok")
            .map(|r| r.vnid),
        Some(100)
    );
    // VRF 200 has no IPv6 routes and no default: a drop, never a leak to VRF 100.
    assert_eq!(
        route(&t, 1, &v6(GW_MAC, "2001:db8::7")),
        Err(DropReason::OverlayNoRoute)
    );
    assert_eq!(
        route(&t, 1, &v4(HOST_MAC, None, "172.16.0.1")),
        Err(DropReason::OverlayNoRoute)
    );
    // Unbound ports are not overlay traffic.
    assert_eq!(route(&t, 2, &v4(GW_MAC, None, "10.1.1.5")), Ok(None));
    assert_eq!(route(&t, 1000, &v4(GW_MAC, None, "10.1.1.5")), Ok(None));
    assert_eq!(t.vrf_for(0, Some(20)).map(Vrf::vnid), Some(200));
    assert_eq!(t.vrf_for(0, None).map(Vrf::vnid), Some(100));
    assert!(t.vrf_for(5, None).is_none());
    assert!(t.vrf(300).is_none());
    assert_eq!(t.vrfs().map(Vrf::vnid).collect::<Vec<_>>(), vec![100, 200]);
    assert_eq!(
        t.lookup(300, &v4(GW_MAC, None, "10.0.0.1"), &Default::default()),
        None
    );
}

#[test]
fn a_vlan_only_port_passes_untagged_frames() {
    let mut b = OverlayTables::builder();
    b.vrf(7).expect("vrf");
    b.bind(3, Some(100), 7).expect("bind");
    b.bind(3, Some(50), 7).expect("bind");
    b.route5(7, prefix("0.0.0.0/0"), RouteTarget(0))
        .expect("r5");
    let t = b.build();
    assert_eq!(route(&t, 3, &v4(GW_MAC, None, "1.2.3.4")), Ok(None));
    assert_eq!(route(&t, 3, &v4(GW_MAC, Some(60), "1.2.3.4")), Ok(None));
    assert_eq!(
        target(&t, 3, &v4(GW_MAC, Some(50), "1.2.3.4")),
        RouteTarget(0)
    );
    assert_eq!(
        target(&t, 3, &v4(GW_MAC, Some(100), "1.2.3.4")),
        RouteTarget(0)
    );
}

#[test]
fn rebuilds_follow_route_changes() {
    let mut b = builder();
    assert_eq!(
        b.route5(100, prefix("10.0.0.0/8"), RouteTarget(9)),
        Ok(Some(RouteTarget(1)))
    );
    assert_eq!(
        b.route2(100, HOST_MAC, Some(ip("10.1.1.5")), RouteTarget(8)),
        Ok((Some(RouteTarget(4)), Some(RouteTarget(4))))
    );
    let t = b.build();
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.9.9.9")), RouteTarget(9));
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.1.1.5")), RouteTarget(8));
    assert_eq!(t.max_target(), Some(RouteTarget(9)));
    b.remove_route2(100, HOST_MAC, Some(ip("10.1.1.5")))
        .expect("rm");
    // With the host gone, the type-5 /32 is what is left for it.
    let t = b.build();
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.1.1.5")), RouteTarget(2));
    assert_eq!(
        b.remove_route5(100, prefix("10.1.1.5/32")),
        Ok(Some(RouteTarget(2)))
    );
    assert_eq!(b.remove_route5(100, prefix("10.1.1.5/32")), Ok(None));
    let t = b.build();
    assert_eq!(target(&t, 0, &v4(GW_MAC, None, "10.1.1.5")), RouteTarget(9));
    b.remove_route2(100, [2, 0, 0, 0, 0, 6], Some(ip("2001:db8::6")))
        .expect("rm");
    b.remove_route5(100, prefix("2001:db8::/32")).expect("rm");
    let t = b.build();
    assert_eq!(
        route(&t, 0, &v6(GW_MAC, "2001:db8::6")),
        Err(DropReason::OverlayNoRoute)
    );
    assert!(b.has_vrf(100));
    assert!(!b.has_vrf(101));
}

#[test]
fn builder_errors() {
    let mut b = builder();
    assert_eq!(b.vrf(100).err(), Some(OverlayError::DuplicateVrf(100)));
    assert_eq!(b.vrf(1 << 24).err(), Some(OverlayError::BadVnid(1 << 24)));
    assert_eq!(
        b.bind(0, None, 300).err(),
        Some(OverlayError::UnknownVnid(300))
    );
    assert_eq!(
        b.bind(0, Some(0), 100).err(),
        Some(OverlayError::BadVlan(0))
    );
    assert_eq!(
        b.bind(0, Some(20), 100).err(),
        Some(OverlayError::DuplicateBinding {
            port: 0,
            vlan: Some(20),
            vnid: 200
        })
    );
    assert_eq!(
        b.route5(300, prefix("1.0.0.0/8"), RouteTarget(0)).err(),
        Some(OverlayError::UnknownVnid(300))
    );
    assert_eq!(
        b.route2(100, HOST_MAC, None, RouteTarget(u32::MAX)).err(),
        Some(OverlayError::BadTarget(u32::MAX))
    );
    assert!(b.remove_route2(300, HOST_MAC, None).is_err());
    assert!(b.remove_route5(300, prefix("1.0.0.0/8")).is_err());
    assert!(OverlayError::DuplicateBinding {
        port: 1,
        vlan: Some(2),
        vnid: 3
    }
    .to_string()
    .contains("port 1 VLAN 2"));
}

#[test]
fn empty_tables_pass_everything() {
    let t = OverlayTables::default();
    assert!(t.is_empty());
    assert_eq!(route(&t, 0, &v4(GW_MAC, None, "10.0.0.1")), Ok(None));
    assert_eq!(t.max_target(), None);
    assert_eq!(RouteTarget(3).index(), 3);
}

#[test]
fn lookup_never_panics_on_a_lying_meta() {
    let t = builder().build();
    let f = v4(GW_MAC, None, "10.0.0.1");
    for l3 in [0u16, 30, 50, 1000, u16::MAX] {
        for kind in [L3Kind::Ipv4, L3Kind::Ipv6, L3Kind::Mpls] {
            let m = PacketMeta {
                l3: kind,
                l3_offset: l3,
                ..Default::default()
            };
            let _ = t.route(0, &f, &m);
            let _ = t.route(0, &f[..3], &m);
        }
    }
}
