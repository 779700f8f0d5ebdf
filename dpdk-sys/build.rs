//! Generates Rust bindings for the system DPDK.
//!
//! - `pkg-config --cflags/--libs libdpdk` gives include paths, the forced
//!   `-include rte_config.h -march=...` and the libraries (linked shared: EAL then
//!   loads the PMD plugins from its driver directory by itself).
//! - bindgen's `wrap_static_fns` emits C wrappers for DPDK's `static inline`
//!   fast-path functions (rte_eth_rx_burst, rte_pktmbuf_alloc, ...); they are compiled
//!   with the same flags together with `shim.c` (true macros such as `rte_errno`).
//!
//! A missing libdpdk or libclang stops the build with one line naming the Debian
//! package to install.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    println!("cargo:warning={msg}");
    std::process::exit(1);
}

fn pkg_config(args: &[&str]) -> String {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("libdpdk")
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(_) => fail(
            "DPDK not found by pkg-config (libdpdk.pc): install the Debian package libdpdk-dev \
             (apt-get install libdpdk-dev), or run scripts/install-deps.sh",
        ),
        Err(_) => fail(
            "pkg-config is not installed: install the Debian package pkg-config \
             (apt-get install pkg-config), or run scripts/install-deps.sh",
        ),
    }
}

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let version = pkg_config(&["--modversion"]);
    let cflags: Vec<String> = pkg_config(&["--cflags"])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let libs = pkg_config(&["--libs"]);

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrappers = out.join("static_fns");

    let builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(cflags.iter())
        .allowlist_function("rte_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .blocklist_function("rte_.*_vprintf")
        .blocklist_function("rte_vlog")
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .opaque_type("rte_arp_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .clang_macro_fallback()
        .clang_macro_fallback_build_dir(&out)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrappers)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));

    // bindgen panics when it cannot load libclang; turn that into one clear line.
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    let bindings = match generated {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => fail(&format!("bindgen could not read the DPDK headers: {e}")),
        Err(_) => fail(
            "libclang not found (bindgen needs it): install the Debian packages clang and \
             libclang-dev (apt-get install clang libclang-dev), or run scripts/install-deps.sh",
        ),
    };
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs into OUT_DIR");

    let mut build = cc::Build::new();
    build
        .file(wrappers.with_extension("c"))
        .file("shim.c")
        .include(".")
        .opt_level(3)
        .warnings(false);
    // The wrapper file includes wrapper.h by a relative name.
    build.include(env::current_dir().expect("cwd"));
    for f in &cflags {
        build.flag(f);
    }
    build.compile("srgate_dpdk_shim");

    for tok in libs.split_whitespace() {
        if let Some(dir) = tok.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = tok.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
        }
    }
    println!("cargo:rustc-env=SRGATE_DPDK_BUILD_VERSION={version}");
    println!("cargo:version={version}");
}
