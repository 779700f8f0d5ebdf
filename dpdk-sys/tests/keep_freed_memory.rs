//! `dpdk_sys::mem::keep_freed_memory`: after it, a large block the process frees stays
//! resident (the allocator does not give it back to the kernel, so no munmap and no TLB
//! shootdown reaches other cores), and the next block of that size reuses it. Run as a
//! plain program (no test harness threads): the setting must precede any thread. A child
//! process without the setting shows the contrast (glibc unmaps a block that large).

const BLOCK: usize = 256 << 20;

/// This process's resident set, in bytes (from /proc/self/status).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib << 10
}

/// Allocates and touches a block, frees it, and returns how much of it stayed resident.
fn kept_after_free() -> usize {
    let base = rss();
    let block = std::hint::black_box(vec![1u8; BLOCK]);
    assert!(
        rss() >= base + BLOCK / 2,
        "the block is resident while alive"
    );
    drop(block);
    rss().saturating_sub(base)
}

fn main() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        println!("keep_freed_memory: not glibc on Linux, nothing to test");
        return;
    }
    if std::env::var_os("KEEP_FREED_CHILD").is_some() {
        // Without the setting: glibc serves the block with mmap and unmaps it on free.
        let kept = kept_after_free();
        assert!(
            kept < BLOCK / 4,
            "glibc gave the block back: {kept} bytes kept"
        );
        return;
    }
    assert!(dpdk_sys::mem::keep_freed_memory(), "mallopt accepted");
    let kept = kept_after_free();
    assert!(
        kept >= BLOCK / 2,
        "a freed 256 MiB block stays resident: {kept} bytes kept"
    );
    // The next block of that size is served from the kept memory: no growth.
    let before = rss();
    let again = std::hint::black_box(vec![2u8; BLOCK]);
    assert!(rss() < before + BLOCK / 4, "reused, not newly mapped");
    drop(again);

    let child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env("KEEP_FREED_CHILD", "1")
        .status()
        .expect("run the contrast child");
    assert!(child.success(), "without the setting the block is unmapped");
    println!("keep_freed_memory: ok (kept {} MiB after free)", kept >> 20);
}
