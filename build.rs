//! Build script of the `srgate` binary: records what it was built from, so `srgate version`
//! can tell an operator which commit and which DPDK headers produced it.

use std::process::Command;

fn main() {
    let git = Command::new("git")
        .args(["describe", "--always", "--dirty", "--tags"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SRGATE_GIT_DESCRIBE={git}");
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=SRGATE_BUILD_PROFILE={profile}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
