//! The command line: version, config checking, and clear errors on bad input.

mod common;

use std::process::Command;

use common::*;

fn srgate_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(srgate())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn srgate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_dpdk_it_runs_on() {
    let (ok, out, _) = srgate_cmd(&["version"]);
    assert!(ok);
    assert!(out.contains("srgate 0."), "{out}");
    assert!(out.contains("built against DPDK 22.11"), "{out}");
    assert!(out.contains("running on DPDK 22.11"), "{out}");
}

#[test]
fn check_config_accepts_the_shipped_examples() {
    for f in ["config/pcap-xconnect.toml", "config/demo.toml"] {
        let (ok, out, err) = srgate_cmd(&["check-config", root().join(f).to_str().expect("utf8")]);
        assert!(ok, "{f}: {err}");
        assert!(out.contains(": ok"), "{out}");
    }
}

#[test]
fn bad_configs_name_file_field_and_expectation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "[[port]]\nname = \"a\"\ndevice = \"eth0\"\n",
            "port[0].device",
            "PCI address",
        ),
        (
            "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\nrx_desc = 1\n",
            "port[0].rx_desc",
            "64..=16384",
        ),
        (
            "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\nspeed = 1\n",
            "speed",
            "unknown field",
        ),
        (
            "[dataplane]\ncores = []\nidle_empty_polls = 0\nidle_sleep_us = 0\nstats_interval_ms = 0\n[[port]]\nname = \"a\"\ndevice = \"net_null0\"\n",
            "dataplane.cores",
            "at least one core",
        ),
        (
            "[[port]]\nname = \"a\"\ndevice = \"net_null0\"\n[[xconnect]]\nfrom = \"a\"\nto = \"b\"\ndst_mac = \"02:00:00:00:00:01\"\n",
            "xconnect[0].to",
            "the name of a [[port]]",
        ),
        ("this is not toml", "bad.toml", "expected"),
    ];
    for (text, field, expected) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("write");
        let (ok, _, err) = srgate_cmd(&["check-config", path.to_str().expect("utf8")]);
        assert!(!ok, "{text:?} must be rejected");
        assert!(err.contains("bad.toml"), "names the file: {err}");
        assert!(err.contains(field), "names the field {field}: {err}");
        assert!(
            err.contains(expected),
            "says what was expected ({expected}): {err}"
        );
    }
    let (ok, _, err) = srgate_cmd(&["run", "--config", "/nonexistent/x.toml"]);
    assert!(!ok);
    assert!(
        err.contains("/nonexistent/x.toml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn srou_policies_beyond_the_mbuf_headroom_are_refused_at_load() {
    let shipped = std::fs::read_to_string(root().join("config/srou-ingress.toml")).expect("read");
    let two = r#"path = ["[2001:db8:99:2::1]:8811", "[2001:db8:99:3::1]:8811"]"#;
    let three = r#"path = ["[2001:db8:99:2::1]:8811", "[2001:db8:99:2::2]:8811", "[2001:db8:99:3::1]:8811"]"#;
    assert!(
        shipped.contains(two),
        "the shipped ingress config has a 2-locator IPv6 path"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.toml");
    std::fs::write(&path, shipped.replace(two, three)).expect("write");
    let (ok, _, err) = srgate_cmd(&["check-config", path.to_str().expect("utf8")]);
    assert!(!ok);
    assert!(
        err.contains("tables.srou.policy") && err.contains("headroom"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_rejected_before_anything_starts() {
    let cfg = root().join("config/pcap-xconnect.toml");
    let cfg = cfg.to_str().expect("utf8");
    let (ok, _, err) = srgate_cmd(&["run", "--config", cfg, "--duration", "soon"]);
    assert!(!ok);
    assert!(
        err.contains("--duration") && err.contains("expected seconds"),
        "{err}"
    );
    let (ok, _, err) = srgate_cmd(&["run", "--config", cfg, "--exit-idle-ms", "1.5"]);
    assert!(!ok);
    assert!(err.contains("--exit-idle-ms"), "{err}");
    let (ok, _, err) = srgate_cmd(&["frobnicate"]);
    assert!(!ok);
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn eal_failure_is_a_clear_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        "[0]",
        "[[port]]\nname = \"a\"\ndevice = \"net_pcap0,rx_pcap=/nonexistent/in.pcap\"\n",
    );
    let (ok, _, err) = srgate_cmd(&[
        "run",
        "--config",
        cfg.to_str().expect("utf8"),
        "--",
        "--file-prefix=clifail",
    ]);
    assert!(!ok);
    assert!(err.contains("EAL") || err.contains("net_pcap0"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
