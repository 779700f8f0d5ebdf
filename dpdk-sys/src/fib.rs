//! DPDK's FIB library: [`Fib4`] over `rte_fib` (IPv4, DIR24_8) and [`Fib6`] over
//! `rte_fib6` (IPv6, TRIE). Used as the baseline srgate's own LPM is measured against.
//!
//! Both need a live EAL (their tables live in DPDK memory: a DIR24_8 table takes
//! 2^24 x next-hop size up front, 64 MiB with the default 4-byte next hops, the TRIE as
//! much, plus `num_tbl8` groups of 256 entries). IPv4 addresses are `u32` in host byte
//! order (`0x0a000001` is 10.0.0.1), as `rte_fib` takes them; IPv6 addresses are 16 bytes
//! in network order. Lookups of an address no prefix covers return the default next hop
//! given at creation.
//!
//! Adding and deleting are not safe against concurrent lookups (`&mut self`); lookups
//! only read the tables (`&self`), so a table may be shared between lcores once built.
//!
//! **Known defect of DPDK 22.11** (found by `tests/fib.rs` against srgate's own LPM, in
//! both `rte_fib` and `rte_fib6`): adding or deleting a prefix whose last address is the
//! top of the address space (the /0, 128.0.0.0/1, 192.0.0.0/2, ...) while more-specific
//! routes cover it entirely rewrites *every* entry of the table: `modify_fib` wraps its
//! end edge to 0 and its `ledge == redge && ledge != 0` test then reads "the whole
//! space". E.g. 192.0.0.0/2, 128.0.0.0/2, then 128.0.0.0/1: 10.0.0.1 resolves to the /1.
//! Adding prefixes shortest first and giving the /0 as the default next hop avoids it on
//! adds; a delete goes through the same code (by reading, not reproduced here).

use std::ffi::CString;
use std::ptr::NonNull;

use crate::error::Errno;
use crate::ffi;

/// Longest name `rte_fib_create` accepts (`RTE_FIB_NAMESIZE` less the NUL).
pub const MAX_NAME_LEN: usize = 63;

/// Size of a next hop in the DIR24_8 / TRIE tables; the largest next hop is
/// 2^(8 x size - 1) - 1 (the top bit marks extended entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHopSize {
    /// 2 bytes: next hops up to 32767 (DIR24_8: 32 MiB table).
    Two,
    /// 4 bytes: next hops up to 2^31 - 1 (64 MiB table).
    Four,
    /// 8 bytes: next hops up to 2^63 - 1 (128 MiB table).
    Eight,
}

impl NextHopSize {
    /// The largest next hop this size holds.
    pub fn max_next_hop(self) -> u64 {
        match self {
            NextHopSize::Two => (1 << 15) - 1,
            NextHopSize::Four => (1 << 31) - 1,
            NextHopSize::Eight => (1 << 63) - 1,
        }
    }
}

/// How to create a [`Fib4`] or [`Fib6`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibConfig {
    /// Most prefixes the table holds (size of its RIB).
    pub max_routes: u32,
    /// What lookups return for an address no prefix covers.
    pub default_next_hop: u64,
    /// Next-hop entry size.
    pub next_hop_size: NextHopSize,
    /// Number of 256-entry groups for prefixes longer than /24 (IPv4) or below the
    /// 24-bit root (IPv6).
    pub num_tbl8: u32,
}

impl FibConfig {
    /// `max_routes` prefixes, 4-byte next hops, `num_tbl8` = `max_routes` clamped to
    /// 256..=65536.
    pub fn new(max_routes: u32, default_next_hop: u64) -> FibConfig {
        FibConfig {
            max_routes,
            default_next_hop,
            next_hop_size: NextHopSize::Four,
            num_tbl8: max_routes.clamp(256, 1 << 16),
        }
    }
}

/// Everything the FIB wrappers can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FibError {
    /// A name with a NUL byte or longer than [`MAX_NAME_LEN`].
    #[error("FIB name {0:?} is not a C string of at most 63 bytes")]
    BadName(String),
    /// A prefix length beyond 32 (IPv4) or 128 (IPv6).
    #[error("prefix length {0} is beyond the address")]
    BadDepth(u8),
    /// A next hop above what the next-hop size holds.
    #[error("next hop {next_hop} is above the maximum {max}")]
    NextHopTooLarge {
        /// The next hop given.
        next_hop: u64,
        /// The maximum of the configured size.
        max: u64,
    },
    /// A size that does not fit DPDK's `int`.
    #[error("max_routes {0} does not fit a C int")]
    TooManyRoutes(u32),
    /// Addresses and next-hop slices of different lengths.
    #[error("{ips} addresses but {next_hops} next-hop slots")]
    LengthMismatch {
        /// Number of addresses.
        ips: usize,
        /// Number of next-hop slots.
        next_hops: usize,
    },
    /// A DPDK call failed.
    #[error("{op} on FIB {name:?} failed: {errno}")]
    Dpdk {
        /// The function that failed.
        op: &'static str,
        /// The FIB's name.
        name: String,
        /// Reason (ENOSPC: out of tbl8 groups or RIB nodes; ENOENT: no such prefix;
        /// EEXIST: the name is taken; ENOMEM: not enough DPDK memory).
        errno: Errno,
    },
}

fn c_name(name: &str) -> Result<CString, FibError> {
    if name.len() > MAX_NAME_LEN {
        return Err(FibError::BadName(name.to_string()));
    }
    CString::new(name).map_err(|_| FibError::BadName(name.to_string()))
}

fn check_nh(next_hop: u64, size: NextHopSize) -> Result<(), FibError> {
    let max = size.max_next_hop();
    if next_hop > max {
        return Err(FibError::NextHopTooLarge { next_hop, max });
    }
    Ok(())
}

/// An IPv4 FIB (`rte_fib`, DIR24_8). Freed on drop.
#[derive(Debug)]
pub struct Fib4 {
    ptr: NonNull<ffi::rte_fib>,
    name: String,
    next_hop_size: NextHopSize,
}

// SAFETY: the FIB lives in DPDK shared memory, not tied to the creating thread; the
// pointer may move between threads. Mutation goes through &mut self only.
unsafe impl Send for Fib4 {}
// SAFETY: through &self only rte_fib_lookup_bulk is called, which reads the tables and
// writes only the caller's output array: concurrent lookups are safe (DPDK documents
// lookups as lock-free readers).
unsafe impl Sync for Fib4 {}

impl Fib4 {
    /// Creates a DIR24_8 FIB named `name` (unique among this process's FIBs) on NUMA
    /// socket `socket` (-1: any). Needs EAL.
    pub fn create(name: &str, socket: i32, config: &FibConfig) -> Result<Fib4, FibError> {
        let cname = c_name(name)?;
        check_nh(config.default_next_hop, config.next_hop_size)?;
        let max_routes = i32::try_from(config.max_routes)
            .map_err(|_| FibError::TooManyRoutes(config.max_routes))?;
        let mut conf = ffi::rte_fib_conf {
            type_: ffi::RTE_FIB_DIR24_8,
            default_nh: config.default_next_hop,
            max_routes,
            rib_ext_sz: 0,
            __bindgen_anon_1: ffi::rte_fib_conf__bindgen_ty_1 {
                dir24_8: ffi::rte_fib_conf__bindgen_ty_1__bindgen_ty_1 {
                    nh_sz: match config.next_hop_size {
                        NextHopSize::Two => ffi::RTE_FIB_DIR24_8_2B,
                        NextHopSize::Four => ffi::RTE_FIB_DIR24_8_4B,
                        NextHopSize::Eight => ffi::RTE_FIB_DIR24_8_8B,
                    },
                    num_tbl8: config.num_tbl8,
                },
            },
        };
        // SAFETY: cname is a valid C string and conf a fully initialised configuration;
        // rte_fib_create copies what it needs from both before returning.
        let p = unsafe { ffi::rte_fib_create(cname.as_ptr(), socket, &mut conf) };
        let ptr = NonNull::new(p).ok_or_else(|| FibError::Dpdk {
            op: "rte_fib_create",
            name: name.to_string(),
            errno: Errno::last(),
        })?;
        Ok(Fib4 {
            ptr,
            name: name.to_string(),
            next_hop_size: config.next_hop_size,
        })
    }

    /// The FIB's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn dpdk(&self, op: &'static str, ret: i32) -> Result<(), FibError> {
        if ret < 0 {
            return Err(FibError::Dpdk {
                op,
                name: self.name.clone(),
                errno: Errno(-ret),
            });
        }
        Ok(())
    }

    /// Adds (or replaces) `ip/depth` -> `next_hop`; bits beyond `depth` are ignored.
    pub fn add(&mut self, ip: u32, depth: u8, next_hop: u64) -> Result<(), FibError> {
        if depth > 32 {
            return Err(FibError::BadDepth(depth));
        }
        check_nh(next_hop, self.next_hop_size)?;
        // SAFETY: the FIB is valid for the life of self and not read concurrently (&mut).
        let ret = unsafe { ffi::rte_fib_add(self.ptr.as_ptr(), ip, depth, next_hop) };
        self.dpdk("rte_fib_add", ret)
    }

    /// Deletes `ip/depth` (ENOENT if absent).
    pub fn delete(&mut self, ip: u32, depth: u8) -> Result<(), FibError> {
        if depth > 32 {
            return Err(FibError::BadDepth(depth));
        }
        // SAFETY: as in add.
        let ret = unsafe { ffi::rte_fib_delete(self.ptr.as_ptr(), ip, depth) };
        self.dpdk("rte_fib_delete", ret)
    }

    /// Looks up `ips` (host byte order) into `next_hops` (same length).
    #[inline]
    pub fn lookup_bulk(&self, ips: &[u32], next_hops: &mut [u64]) -> Result<(), FibError> {
        if ips.len() != next_hops.len() {
            return Err(FibError::LengthMismatch {
                ips: ips.len(),
                next_hops: next_hops.len(),
            });
        }
        for (ips, nhs) in ips.chunks(1 << 30).zip(next_hops.chunks_mut(1 << 30)) {
            // SAFETY: both arrays hold ips.len() (< 2^31) elements; rte_fib_lookup_bulk
            // reads the addresses (its `uint32_t *` is never written through: the lookup
            // functions take `const uint32_t *`) and writes exactly n next hops. The FIB
            // tables are only read, which is safe alongside other readers.
            let ret = unsafe {
                ffi::rte_fib_lookup_bulk(
                    self.ptr.as_ptr(),
                    ips.as_ptr().cast_mut(),
                    nhs.as_mut_ptr(),
                    ips.len() as i32,
                )
            };
            self.dpdk("rte_fib_lookup_bulk", ret)?;
        }
        Ok(())
    }
}

impl Drop for Fib4 {
    fn drop(&mut self) {
        // SAFETY: we created the FIB and no reference to it outlives self.
        unsafe { ffi::rte_fib_free(self.ptr.as_ptr()) }
    }
}

/// An IPv6 FIB (`rte_fib6`, TRIE). Freed on drop.
#[derive(Debug)]
pub struct Fib6 {
    ptr: NonNull<ffi::rte_fib6>,
    name: String,
    next_hop_size: NextHopSize,
}

// SAFETY: as for Fib4.
unsafe impl Send for Fib6 {}
// SAFETY: as for Fib4: &self only looks up.
unsafe impl Sync for Fib6 {}

impl Fib6 {
    /// Creates a TRIE FIB named `name` (unique among this process's FIB6s) on NUMA
    /// socket `socket` (-1: any). [`NextHopSize::Two`] or larger. Needs EAL.
    pub fn create(name: &str, socket: i32, config: &FibConfig) -> Result<Fib6, FibError> {
        let cname = c_name(name)?;
        check_nh(config.default_next_hop, config.next_hop_size)?;
        let max_routes = i32::try_from(config.max_routes)
            .map_err(|_| FibError::TooManyRoutes(config.max_routes))?;
        let mut conf = ffi::rte_fib6_conf {
            type_: ffi::RTE_FIB6_TRIE,
            default_nh: config.default_next_hop,
            max_routes,
            rib_ext_sz: 0,
            __bindgen_anon_1: ffi::rte_fib6_conf__bindgen_ty_1 {
                trie: ffi::rte_fib6_conf__bindgen_ty_1__bindgen_ty_1 {
                    nh_sz: match config.next_hop_size {
                        NextHopSize::Two => ffi::RTE_FIB6_TRIE_2B,
                        NextHopSize::Four => ffi::RTE_FIB6_TRIE_4B,
                        NextHopSize::Eight => ffi::RTE_FIB6_TRIE_8B,
                    },
                    num_tbl8: config.num_tbl8,
                },
            },
        };
        // SAFETY: as in Fib4::create.
        let p = unsafe { ffi::rte_fib6_create(cname.as_ptr(), socket, &mut conf) };
        let ptr = NonNull::new(p).ok_or_else(|| FibError::Dpdk {
            op: "rte_fib6_create",
            name: name.to_string(),
            errno: Errno::last(),
        })?;
        Ok(Fib6 {
            ptr,
            name: name.to_string(),
            next_hop_size: config.next_hop_size,
        })
    }

    /// The FIB's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn dpdk(&self, op: &'static str, ret: i32) -> Result<(), FibError> {
        if ret < 0 {
            return Err(FibError::Dpdk {
                op,
                name: self.name.clone(),
                errno: Errno(-ret),
            });
        }
        Ok(())
    }

    /// Adds (or replaces) `ip/depth` -> `next_hop`; bits beyond `depth` are ignored.
    pub fn add(&mut self, ip: &[u8; 16], depth: u8, next_hop: u64) -> Result<(), FibError> {
        if depth > 128 {
            return Err(FibError::BadDepth(depth));
        }
        check_nh(next_hop, self.next_hop_size)?;
        // SAFETY: ip points to 16 readable bytes, all rte_fib6_add reads; the FIB is
        // valid and not read concurrently (&mut self).
        let ret = unsafe { ffi::rte_fib6_add(self.ptr.as_ptr(), ip.as_ptr(), depth, next_hop) };
        self.dpdk("rte_fib6_add", ret)
    }

    /// Deletes `ip/depth` (ENOENT if absent).
    pub fn delete(&mut self, ip: &[u8; 16], depth: u8) -> Result<(), FibError> {
        if depth > 128 {
            return Err(FibError::BadDepth(depth));
        }
        // SAFETY: as in add.
        let ret = unsafe { ffi::rte_fib6_delete(self.ptr.as_ptr(), ip.as_ptr(), depth) };
        self.dpdk("rte_fib6_delete", ret)
    }

    /// Looks up `ips` (network byte order) into `next_hops` (same length).
    #[inline]
    pub fn lookup_bulk(&self, ips: &[[u8; 16]], next_hops: &mut [u64]) -> Result<(), FibError> {
        if ips.len() != next_hops.len() {
            return Err(FibError::LengthMismatch {
                ips: ips.len(),
                next_hops: next_hops.len(),
            });
        }
        for (ips, nhs) in ips.chunks(1 << 30).zip(next_hops.chunks_mut(1 << 30)) {
            // SAFETY: both arrays hold ips.len() (< 2^31) elements; the addresses are only
            // read (the lookup functions take them const), exactly n next hops are
            // written, and the tables are only read.
            let ret = unsafe {
                ffi::rte_fib6_lookup_bulk(
                    self.ptr.as_ptr(),
                    ips.as_ptr().cast_mut(),
                    nhs.as_mut_ptr(),
                    ips.len() as i32,
                )
            };
            self.dpdk("rte_fib6_lookup_bulk", ret)?;
        }
        Ok(())
    }
}

impl Drop for Fib6 {
    fn drop(&mut self) {
        // SAFETY: we created the FIB and no reference to it outlives self.
        unsafe { ffi::rte_fib6_free(self.ptr.as_ptr()) }
    }
}
