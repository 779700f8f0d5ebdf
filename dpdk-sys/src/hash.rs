//! DPDK's exact-match hash table (`rte_hash`: cuckoo hashing over buckets of 8 short
//! signatures, keys in a separate key store): the baseline srgate's own
//! `fwd_core::service::hash::ExactMap` is measured against (`perf/bench-service-hash.sh`).
//!
//! A [`Hash`](struct@Hash) holds fixed-length keys (`key_len` bytes, given at creation; every call takes
//! `[u8; N]` keys and checks `N` against it) and a 64-bit value per key (DPDK's `void *`
//! data, never dereferenced). It is created without any `extra_flag`: one writer
//! (`&mut self`) and no concurrent readers while it writes; lookups (`&self`) only read the
//! table, so a built table may be shared between lcores. The hash function is DPDK's
//! default (`rte_hash_crc`, CRC32-C with SSE4.2 on x86). Needs a live EAL (the table lives
//! in DPDK memory).

use std::ffi::{c_void, CString};
use std::ptr::NonNull;

use crate::error::Errno;
use crate::ffi;

/// Longest name `rte_hash_create` accepts: `RTE_HASH_NAMESIZE` less the NUL, less the
/// 3-byte prefix (`HT_`) DPDK adds for the table's ring.
pub const MAX_NAME_LEN: usize = ffi::RTE_HASH_NAMESIZE as usize - 4;

/// Linux's ENOENT: what the single-key lookup returns (negated) for a miss.
const ENOENT: i32 = 2;

/// Most keys one bulk lookup takes (`RTE_HASH_LOOKUP_BULK_MAX`).
pub const BULK_MAX: usize = ffi::RTE_HASH_LOOKUP_BULK_MAX as usize;

// Values travel as DPDK's `void *` data: 64-bit pointers hold them unchanged.
const _: () = assert!(core::mem::size_of::<*mut c_void>() == core::mem::size_of::<u64>());
const _: () = assert!(core::mem::align_of::<*mut c_void>() == core::mem::align_of::<u64>());

/// Everything the hash wrapper can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// A name with a NUL byte or longer than [`MAX_NAME_LEN`].
    #[error("hash name {0:?} is not a C string of at most {MAX_NAME_LEN} bytes")]
    BadName(String),
    /// A key length of 0, or a key of another length than the table's.
    #[error("key of {got} bytes, the table holds {expected}-byte keys")]
    KeyLength {
        /// The table's key length.
        expected: usize,
        /// The key given.
        got: usize,
    },
    /// More keys than one bulk lookup takes, or an output slice shorter than the keys.
    #[error("{keys} keys for a bulk lookup (at most {BULK_MAX}) with {out} output slots")]
    Bulk {
        /// Keys given.
        keys: usize,
        /// Output slots given.
        out: usize,
    },
    /// A DPDK call failed.
    #[error("{op} on hash {name:?} failed: {errno}")]
    Dpdk {
        /// The function that failed.
        op: &'static str,
        /// The table's name.
        name: String,
        /// Reason (ENOSPC: the table is full; EEXIST: the name is taken; ENOMEM: not
        /// enough DPDK memory; EINVAL: bad parameters).
        errno: Errno,
    },
}

/// An `rte_hash` table from `key_len`-byte keys to `u64` values. Freed on drop.
#[derive(Debug)]
pub struct Hash {
    ptr: NonNull<ffi::rte_hash>,
    name: String,
    key_len: usize,
}

// SAFETY: the table lives in DPDK shared memory, not tied to the creating thread; the
// pointer may move between threads. Writes go through &mut self only.
unsafe impl Send for Hash {}
// SAFETY: through &self only the lookup functions are called; without writers they only
// read the table and write the caller's output arrays, which is safe from several threads
// at once (DPDK's lookups take the table as `const struct rte_hash *`).
unsafe impl Sync for Hash {}

impl Hash {
    /// Creates a table named `name` (unique among this process's hash tables) for at
    /// least `entries` keys of `key_len` bytes on NUMA socket `socket` (-1: any). DPDK
    /// rounds the buckets up to a power of two; a full table refuses adds (ENOSPC).
    pub fn create(name: &str, socket: i32, entries: u32, key_len: u32) -> Result<Hash, HashError> {
        if name.len() > MAX_NAME_LEN {
            return Err(HashError::BadName(name.to_string()));
        }
        let cname = CString::new(name).map_err(|_| HashError::BadName(name.to_string()))?;
        if key_len == 0 {
            return Err(HashError::KeyLength {
                expected: 1,
                got: 0,
            });
        }
        let params = ffi::rte_hash_parameters {
            name: cname.as_ptr(),
            entries,
            reserved: 0,
            key_len,
            hash_func: None,
            hash_func_init_val: 0,
            socket_id: socket,
            extra_flag: 0,
        };
        // SAFETY: params is fully initialised and its name a valid C string; both outlive
        // the call, and rte_hash_create copies what it keeps (the name into the table).
        let p = unsafe { ffi::rte_hash_create(&params) };
        let ptr = NonNull::new(p).ok_or_else(|| HashError::Dpdk {
            op: "rte_hash_create",
            name: name.to_string(),
            errno: Errno::last(),
        })?;
        Ok(Hash {
            ptr,
            name: name.to_string(),
            key_len: key_len as usize,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes per key.
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// Number of keys in the table.
    pub fn len(&self) -> usize {
        // SAFETY: the table is valid for the life of self; rte_hash_count only reads it.
        let n = unsafe { ffi::rte_hash_count(self.ptr.as_ptr()) };
        usize::try_from(n).unwrap_or(0)
    }

    /// True without keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_key(&self, n: usize) -> Result<(), HashError> {
        if n != self.key_len {
            return Err(HashError::KeyLength {
                expected: self.key_len,
                got: n,
            });
        }
        Ok(())
    }

    fn dpdk(&self, op: &'static str, ret: i32) -> Result<i32, HashError> {
        if ret < 0 {
            return Err(HashError::Dpdk {
                op,
                name: self.name.clone(),
                errno: Errno(-ret),
            });
        }
        Ok(ret)
    }

    /// Adds `key` with `value`, or replaces the value of a key already there.
    pub fn insert<const N: usize>(&mut self, key: &[u8; N], value: u64) -> Result<(), HashError> {
        self.check_key(N)?;
        // SAFETY: key points to key_len readable bytes (checked), which rte_hash copies
        // into its key store; the value is stored as an opaque pointer-sized word and
        // never dereferenced (the table has no free function). &mut self: no reader runs.
        let ret = unsafe {
            ffi::rte_hash_add_key_data(
                self.ptr.as_ptr(),
                key.as_ptr().cast::<c_void>(),
                value as usize as *mut c_void,
            )
        };
        self.dpdk("rte_hash_add_key_data", ret).map(|_| ())
    }

    /// The value of `key`, if present.
    pub fn get<const N: usize>(&self, key: &[u8; N]) -> Result<Option<u64>, HashError> {
        self.check_key(N)?;
        let mut data: *mut c_void = core::ptr::null_mut();
        // SAFETY: key points to key_len readable bytes; data is a valid slot for the one
        // pointer written on a hit; the table is only read.
        let ret = unsafe {
            ffi::rte_hash_lookup_data(self.ptr.as_ptr(), key.as_ptr().cast::<c_void>(), &mut data)
        };
        if ret == -ENOENT {
            return Ok(None);
        }
        self.dpdk("rte_hash_lookup_data", ret)?;
        Ok(Some(data as usize as u64))
    }

    /// Looks up a burst of at most [`BULK_MAX`] keys (`rte_hash_lookup_bulk_data`): for
    /// each bit `i` set in the returned mask, `values[i]` is the value of `keys[i]`; the
    /// other slots of `values` are left as they were.
    #[inline]
    pub fn get_bulk<const N: usize>(
        &self,
        keys: &[[u8; N]],
        values: &mut [u64],
    ) -> Result<u64, HashError> {
        self.check_key(N)?;
        if keys.len() > BULK_MAX || values.len() < keys.len() {
            return Err(HashError::Bulk {
                keys: keys.len(),
                out: values.len(),
            });
        }
        let mut ptrs = [core::ptr::null::<c_void>(); BULK_MAX];
        for (p, k) in ptrs.iter_mut().zip(keys) {
            *p = k.as_ptr().cast::<c_void>();
        }
        let mut hits = 0u64;
        // SAFETY: ptrs holds keys.len() (<= 64) pointers to key_len readable bytes each;
        // rte_hash only reads through them (the array is `const void **` in spirit).
        // values holds at least keys.len() u64 slots, which have the size and alignment of
        // the `void *` DPDK writes for each hit (asserted at compile time). hits is one
        // writable u64. The table is only read.
        let ret = unsafe {
            ffi::rte_hash_lookup_bulk_data(
                self.ptr.as_ptr(),
                ptrs.as_mut_ptr(),
                keys.len() as u32,
                &mut hits,
                values.as_mut_ptr().cast::<*mut c_void>(),
            )
        };
        self.dpdk("rte_hash_lookup_bulk_data", ret)?;
        Ok(hits)
    }

    /// Looks up a burst of at most [`BULK_MAX`] keys (`rte_hash_lookup_bulk`):
    /// `positions[i]` becomes the key-store index of `keys[i]` (what an application indexes
    /// its own value array with), or a negative value (-ENOENT) for a miss.
    #[inline]
    pub fn positions_bulk<const N: usize>(
        &self,
        keys: &[[u8; N]],
        positions: &mut [i32],
    ) -> Result<(), HashError> {
        self.check_key(N)?;
        if keys.len() > BULK_MAX || positions.len() < keys.len() {
            return Err(HashError::Bulk {
                keys: keys.len(),
                out: positions.len(),
            });
        }
        let mut ptrs = [core::ptr::null::<c_void>(); BULK_MAX];
        for (p, k) in ptrs.iter_mut().zip(keys) {
            *p = k.as_ptr().cast::<c_void>();
        }
        // SAFETY: as in get_bulk; positions holds at least keys.len() i32 slots.
        let ret = unsafe {
            ffi::rte_hash_lookup_bulk(
                self.ptr.as_ptr(),
                ptrs.as_mut_ptr(),
                keys.len() as u32,
                positions.as_mut_ptr(),
            )
        };
        self.dpdk("rte_hash_lookup_bulk", ret).map(|_| ())
    }
}

impl Drop for Hash {
    fn drop(&mut self) {
        // SAFETY: we created the table and no reference to it outlives self.
        unsafe { ffi::rte_hash_free(self.ptr.as_ptr()) }
    }
}
