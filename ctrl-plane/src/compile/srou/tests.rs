//! Token fields and route control through `SrouConfig::build` and
//! `OverlayConfig::build`, checked on the built tables.

use core::net::Ipv4Addr;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fwd_core::overlay::config::VrfConfig;
use fwd_core::srou::config::{LocatorConfig, NextHopConfig, PortRef};
use fwd_core::srou::{SrouTables, TokenDecision};

use super::*;
use crate::policy::{GroupTag, PolicyState};

fn ports(name: &str) -> Option<PortRef> {
    match name {
        "in" => Some(PortRef {
            id: 0,
            mac: [2, 0, 0, 0, 0, 0x10],
        }),
        "out" => Some(PortRef {
            id: 1,
            mac: [2, 0, 0, 0, 0, 0x11],
        }),
        _ => None,
    }
}

fn port_id(name: &str) -> Option<u16> {
    ports(name).map(|p| p.id)
}

fn tag(s: &str) -> GroupTag {
    s.parse().unwrap()
}

#[test]
fn tokens_identities_and_groups_reach_the_acl() {
    let t = Instant::now();
    let mut s = PolicyState::new(Duration::from_secs(1));
    for (k, v) in [
        ("/token/permit/0x0001", ""),
        ("/token/permit/0x0002", ""),
        ("/token/block/0x0002", ""),
        ("/identity/alice/0x00a1", "staff"),
        ("/identity/bob/0x00b0", "staff contractor"),
        ("/identity/carol/0x00c0", "guest"),
        ("/policy/staff/db", "permit"),
        ("/policy/contractor/db", "deny,log"),
    ] {
        s.put(k, v, t).unwrap();
    }
    let d = s.access.decide(&BTreeSet::from([tag("db")]));
    assert_eq!(log_decisions(&d), 1);

    let f = token_fields(&d, AclMode::PermitOnly);
    assert_eq!(f.permit, ["0x0001", "0x00a1"]);
    assert_eq!(f.block, ["0x0002", "0x00b0"]);
    let mut cfg = SrouConfig::default();
    f.apply_to(&mut cfg);
    let tables = cfg.build(&ports).expect("builds");
    let acl = tables.acl();
    assert_eq!(acl.check(&[0, 1]), TokenDecision::Permitted);
    assert_eq!(acl.check(&[0, 2]), TokenDecision::Blocked, "block wins");
    assert_eq!(
        acl.check(&[0, 0xa1]),
        TokenDecision::Permitted,
        "staff -> db"
    );
    assert_eq!(
        acl.check(&[0, 0xb0]),
        TokenDecision::Blocked,
        "contractor -> db denied"
    );
    assert_eq!(
        acl.check(&[0, 0xc0]),
        TokenDecision::NotPermitted,
        "guest: no rule"
    );
    assert_eq!(acl.check(&[0, 0x99]), TokenDecision::NotPermitted);

    // Block-only at a transit node (no groups): only explicit blocks.
    let d = s.access.decide(&BTreeSet::new());
    let f = token_fields(&d, AclMode::BlockOnly);
    assert_eq!(f.block, ["0x0002"]);
    f.apply_to(&mut cfg);
    let tables = cfg.build(&ports).unwrap();
    assert_eq!(tables.acl().check(&[0, 0xb0]), TokenDecision::Permitted);
    assert_eq!(tables.acl().check(&[0, 0x99]), TokenDecision::Permitted);
    assert_eq!(tables.acl().check(&[0, 2]), TokenDecision::Blocked);

    // A blocked token is never also on the permit list, even if the decisions say so.
    let mut d = AccessDecisions::default();
    let x = FlowId::new(&[7]).unwrap();
    d.permit.insert(x);
    d.block.insert(x);
    let f = token_fields(&d, AclMode::PermitOnly);
    assert!(f.permit.is_empty());
    assert_eq!(f.block, ["0x07"]);
}

/// The demo's SRoU and overlay: locator 10.99.1.1:8811, a policy `to-site-b`, VRF 100
/// with a type-5 and a type-2 route to it.
fn base() -> (SrouConfig, OverlayConfig) {
    let srou = SrouConfig {
        locators: vec![LocatorConfig {
            address: "10.99.1.1:8811".into(),
            decap: true,
        }],
        next_hops: vec![NextHopConfig {
            address: "10.99.2.1".into(),
            port: "out".into(),
            dst_mac: "02:00:00:00:00:02".into(),
            src_mac: None,
        }],
        policies: vec![PolicyConfig {
            name: Some("to-site-b".into()),
            destination: None,
            flow_id: "0x000456".into(),
            source: "10.99.1.1:8811".into(),
            path: vec!["10.99.2.1:8811".into()],
            vnid: None,
            behavior: None,
        }],
        ..SrouConfig::default()
    };
    let overlay = OverlayConfig {
        vrf: vec![VrfConfig {
            vnid: 100,
            ports: vec!["in".into()],
            vlan: None,
        }],
        route5: vec![
            Route5Config {
                vnid: 100,
                prefix: "10.20.0.0/16".into(),
                target: "to-site-b".into(),
            },
            Route5Config {
                vnid: 100,
                prefix: "10.60.0.0/16".into(),
                target: "to-site-b".into(),
            },
        ],
        route2: vec![Route2Config {
            vnid: 100,
            mac: "02:00:00:00:00:05".into(),
            ip: Some("10.1.1.5".into()),
            target: "to-site-b".into(),
        }],
    };
    (srou, overlay)
}

fn rules(s: &mut PolicyState, kv: &[(&str, &str)]) {
    for (k, v) in kv {
        s.put(k, v, Instant::now()).unwrap();
    }
}

fn vnid_of_rt(rt: &str) -> Option<u32> {
    match rt {
        "rt-a" | "rt-c" => Some(100),
        "rt-d" => Some(300),
        _ => None,
    }
}

fn params(f: &dyn Fn(&str) -> Option<u32>) -> ControlParams<'_> {
    ControlParams {
        source_v4: Some("10.99.1.1:8811".parse().unwrap()),
        source_v6: None,
        flow_id: FlowId::new(&[0xc0, 0x01]).unwrap(),
        vnid_of_rt: f,
        service_segment: false,
    }
}

fn why(c: &[(ControlKey, NotInstalled)], key: &str) -> Option<NotInstalled> {
    c.iter()
        .find(|(k, _)| k.to_string() == key)
        .map(|(_, w)| w.clone())
}

#[test]
fn route_control_installs_what_the_overlay_can_express() {
    let mut s = PolicyState::new(Duration::from_secs(1));
    let steer = "/control/rt-a/5/*/*/10.20.0.0/16";
    let host = "/control/rt-a/2/*/*/02:00:00:00:00:05/10.1.1.5";
    rules(
        &mut s,
        &[
            (steer, "10.99.2.1:8811, 10.99.3.1:8811"),
            ("/control/rt-a/5/10.0.0.0/8/10.30.0.0/16", "10.99.2.1:8811"),
            ("/control/rt-a/5/*/*/10.40.0.0/16", "drop"),
            ("/control/rt-a/5/*/*/10.50.0.0/16", "permit"),
            ("/control/rt-b/5/*/*/10.20.0.0/16", "10.99.2.1:8811"),
            (host, "10.99.2.1:8811"),
            ("/control/rt-a/2/*/*/*/10.1.1.6", "10.99.2.1:8811"),
            (
                "/control/rt-c/5/*/*/10.20.0.0/255.255.0.0",
                "10.99.2.1:8811",
            ),
            ("/control/rt-a/5/*/*/2001:db8::/32", "[2001:db8::2]:8811"),
            ("/control/rt-d/5/*/*/10.70.0.0/16", "10.99.2.1:8811"),
        ],
    );
    let c = compile_control(&s.control, &params(&vnid_of_rt));
    let nk = &c.not_installed;
    assert_eq!(
        why(nk, "/control/rt-a/5/10.0.0.0/8/10.30.0.0/16"),
        Some(NotInstalled::SourceMatch)
    );
    assert_eq!(
        why(nk, "/control/rt-a/5/*/*/10.40.0.0/16"),
        Some(NotInstalled::Drop)
    );
    assert_eq!(
        why(nk, "/control/rt-a/5/*/*/10.50.0.0/16"),
        Some(NotInstalled::PermitIsDefault)
    );
    assert_eq!(
        why(nk, "/control/rt-b/5/*/*/10.20.0.0/16"),
        Some(NotInstalled::NotImported)
    );
    assert_eq!(
        why(nk, "/control/rt-a/2/*/*/*/10.1.1.6"),
        Some(NotInstalled::NoDestinationMac)
    );
    let shadowed = why(nk, "/control/rt-c/5/*/*/10.20.0.0/16").unwrap();
    assert_eq!(
        shadowed.to_string(),
        "destination already taken by /control/rt-a/5/*/*/10.20.0.0/16"
    );
    assert_eq!(
        why(nk, "/control/rt-a/5/*/*/2001:db8::/32"),
        Some(NotInstalled::NoSourceLocator { v4: false })
    );
    assert_eq!(nk.len(), 7);
    assert_eq!(
        c.installs
            .iter()
            .map(|i| i.key.to_string())
            .collect::<Vec<_>>(),
        [host, steer, "/control/rt-d/5/*/*/10.70.0.0/16"]
    );
    let p = &c.installs[1].policy;
    assert_eq!(p.name.as_deref(), Some(steer));
    assert_eq!(p.flow_id, "0xc001");
    assert_eq!(p.path, ["10.99.2.1:8811", "10.99.3.1:8811"]);
    assert_eq!(p.vnid, None);

    let (mut srou, mut overlay) = base();
    let left = c.merge_into(&mut srou, &mut overlay);
    assert_eq!(
        left,
        [(c.installs[2].key.clone(), NotInstalled::NoVrf { vnid: 300 })]
    );
    // Idempotent.
    let (s1, o1) = (srou.clone(), overlay.clone());
    c.merge_into(&mut srou, &mut overlay);
    assert_eq!((&srou, &overlay), (&s1, &o1));
    assert_eq!(srou.policies.len(), 3, "to-site-b and two control policies");
    assert_eq!(overlay.route5.len(), 2, "10.20/16 replaced, 10.60/16 kept");

    let tables: SrouTables = srou.build(&ports).expect("SRoU builds");
    let ov = overlay
        .build(port_id, |n| tables.policy_index(n))
        .expect("overlay builds");
    let vrf = ov.vrf(100).unwrap();
    let first_hop = |dst: Ipv4Addr| {
        let t = vrf.lookup_v4(dst).expect("routed");
        tables
            .policy_at(t.0)
            .map(|p| (p.first_hop().to_string(), p.flow_id().as_bytes().to_vec()))
    };
    // The control rule took 10.20.0.0/16 from to-site-b.
    let control = Some(("10.99.2.1:8811".to_string(), vec![0xc0, 0x01]));
    assert_eq!(first_hop(Ipv4Addr::new(10, 20, 3, 4)), control);
    assert_eq!(
        vrf.lookup_v4(Ipv4Addr::new(10, 20, 3, 4)).map(|t| t.0),
        tables.policy_index(steer)
    );
    assert_eq!(
        vrf.lookup_v4(Ipv4Addr::new(10, 60, 0, 1)).map(|t| t.0),
        tables.policy_index("to-site-b")
    );
    // The type-2 route (MAC and host) now goes to the control policy.
    assert_eq!(
        vrf.lookup_mac(&[2, 0, 0, 0, 0, 5]).map(|t| t.0),
        tables.policy_index(host)
    );
    assert_eq!(
        vrf.lookup_v4(Ipv4Addr::new(10, 1, 1, 5)).map(|t| t.0),
        tables.policy_index(host)
    );
    assert_eq!(vrf.route_counts(), (1, 1, 2));
}

#[test]
fn wildcard_destination_and_service_segment() {
    let mut s = PolicyState::new(Duration::from_secs(1));
    let all = "/control/rt-a/5/*/*/*/*";
    rules(&mut s, &[(all, "10.99.2.1:8811")]);
    let mut p = params(&vnid_of_rt);
    p.service_segment = true;
    let c = compile_control(&s.control, &p);
    assert!(c.not_installed.is_empty());
    let routes: Vec<String> = c.installs[0]
        .routes
        .iter()
        .map(|r| match r {
            OverlayRoute::Route5(r) => r.prefix.clone(),
            OverlayRoute::Route2(r) => r.mac.clone(),
        })
        .collect();
    assert_eq!(routes, ["0.0.0.0/0", "::/0"]);
    assert_eq!(c.installs[0].policy.vnid, Some(100));

    let (mut srou, mut overlay) = base();
    assert!(c.merge_into(&mut srou, &mut overlay).is_empty());
    let tables = srou.build(&ports).expect("builds");
    let ov = overlay
        .build(port_id, |n| tables.policy_index(n))
        .expect("builds");
    let vrf = ov.vrf(100).unwrap();
    // The more specific EVPN route still wins; everything else takes the default.
    assert_eq!(
        vrf.lookup_v4(Ipv4Addr::new(10, 20, 0, 1)).map(|t| t.0),
        tables.policy_index("to-site-b")
    );
    assert_eq!(
        vrf.lookup_v4(Ipv4Addr::new(192, 0, 2, 1)).map(|t| t.0),
        tables.policy_index(all)
    );
    assert_eq!(
        vrf.lookup_v6(&"2001:db8::1".parse().unwrap()).map(|t| t.0),
        tables.policy_index(all)
    );

    // With an IPv6 path and an IPv6 locator, no service segment (IPv4 only).
    let mut s = PolicyState::new(Duration::from_secs(1));
    rules(
        &mut s,
        &[("/control/rt-a/5/*/*/2001:db8::/32", "[2001:db8::2]:8811")],
    );
    p.source_v6 = Some("[2001:db8::1]:8811".parse().unwrap());
    let c = compile_control(&s.control, &p);
    assert_eq!(c.installs[0].policy.vnid, None);
    assert_eq!(c.installs[0].policy.source, "[2001:db8::1]:8811");
    assert_eq!(
        NotInstalled::NoSourceLocator { v4: true }.to_string(),
        "no own IPv4 locator for the path"
    );
}
