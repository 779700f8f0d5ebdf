//! `pktgen check-profile`: an invalid profile is refused with the file and the field; the
//! shipped example profiles are valid.

use std::path::{Path, PathBuf};
use std::process::Command;

fn pktgen() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pktgen"))
}

const GOOD: &str = r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci"]

[[port]]
name = "gw"
device = "net_memif0,role=client,socket=/tmp/srgate.sock"

[traffic]
protocol = "srv6"
tx_port = "gw"
rx_port = "gw"
flows = 8
size = 256
rate_percent = 10
duration_s = 5
dst_ip = "2001:db8::2"

[traffic.srv6]
src = "2001:db8:a::1"
segments = ["2001:db8:b::1", "2001:db8:c::1"]
"#;

fn check(dir: &Path, text: &str) -> (bool, String, String) {
    let f = dir.join("p.toml");
    std::fs::write(&f, text).expect("write profile");
    let out = Command::new(pktgen())
        .arg("check-profile")
        .arg(&f)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn pktgen");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn invalid_profiles_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = check(dir.path(), GOOD);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("protocol srv6") && stdout.contains("40 srh (2 segments)"),
        "{stdout}"
    );
    let cases = [
        ("size = 256", "size = 100", "traffic.size"),
        (
            "rate_percent = 10",
            "rate_percent = 0",
            "traffic.rate_percent",
        ),
        (
            "\"2001:db8:c::1\"",
            "\"10.0.0.1\"",
            "traffic.srv6.segments[1]",
        ),
        (
            "src = \"2001:db8:a::1\"",
            "src = \"nope\"",
            "traffic.srv6.src",
        ),
        ("flows = 8", "flows = 70000", "traffic.flows"),
        ("duration_s = 5", "duration_s = -1", "traffic.duration_s"),
        ("protocol = \"srv6\"", "protocol = \"mpls\"", "traffic.srv6"),
        (
            "device = \"net_memif0",
            "device = \"memif0",
            "port[0].device",
        ),
    ];
    let file = dir.path().join("p.toml").display().to_string();
    for (from, to, field) in cases {
        assert!(GOOD.contains(from), "{from}");
        let (ok, _, stderr) = check(dir.path(), &GOOD.replace(from, to));
        assert!(!ok, "{to} must be refused");
        assert!(
            stderr.contains(&format!("{file}: field `{field}`: expected")),
            "{to}: {stderr}"
        );
    }
    // Schema errors (unknown field, wrong type) come from toml and name the field too.
    let (ok, _, stderr) = check(dir.path(), &GOOD.replace("flows = 8", "flowz = 8"));
    assert!(
        !ok && stderr.contains(&file) && stderr.contains("flowz"),
        "{stderr}"
    );
    let (ok, _, stderr) = check(dir.path(), &GOOD.replace("flows = 8", "flows = \"8\""));
    assert!(!ok && stderr.contains("flows"), "{stderr}");
}

#[test]
fn shipped_profiles_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("profiles dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let out = Command::new(pktgen())
                .arg("check-profile")
                .arg(&p)
                .output()
                .expect("spawn pktgen");
            assert!(
                out.status.success(),
                "{}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 3, "example profiles in pktgen/profiles/");
}
